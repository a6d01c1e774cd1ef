"""The voice-of-the-customer digest in the desk (/reports/voc) in real Chromium, for ops."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import expect

from monitor.desk.app import create_app
from monitor.desk.desk import Desk
from monitor.desk.ring import TelemetryRing
from outreach.store.cases import CaseStore
from outreach.store.db import make_engine, upgrade
from outreach.store.queue import QueueStore
from outreach.store.users import UserStore
from tests.support.browser import chromium, shot_path
from tests.support.channel_fakes import serve_asgi
from tests.support.voc_week import MIN, T, seed_hour

TIMEOUT_MS = 10_000


async def test_ops_sees_the_digest_with_its_problems_and_charts_and_an_agent_may_not(
        tmp_path: Path) -> None:
    engine = make_engine(str(tmp_path / "desk.db"))
    await upgrade(engine)
    await seed_hour(engine)
    clock = lambda: T + 60 * MIN  # noqa: E731
    store = CaseStore(engine, clock)
    users = UserStore(engine, clock)
    app = create_app(Desk(store, QueueStore(engine, store, clock), TelemetryRing(), clock), users)
    olga = await users.add("olga", "ops")
    ann = await users.add("ann", "agent")
    try:
        async with serve_asgi(app) as base, chromium() as browser:
            async with httpx.AsyncClient(base_url=base) as http:
                refused = await http.get("/api/reports/voc?since=1h",
                                         headers={"Authorization": f"Bearer {ann}"})
                assert refused.status_code == 403
                bad = await http.get("/api/reports/voc?since=soon",
                                     headers={"Authorization": f"Bearer {olga}"})
                assert bad.status_code == 400
                huge = await http.get("/api/reports/voc?since=3650d",
                                      headers={"Authorization": f"Bearer {olga}"})
                assert huge.status_code == 400 and huge.json()["error"] == "bad_period"
            page = await browser.new_page()
            await page.goto(f"{base}/reports/voc#token={olga}")
            await expect(page.locator("#who")).to_have_text("olga (ops)", timeout=TIMEOUT_MS)
            await page.locator("#since").fill("1h")
            await page.locator("#voc-form button[type=submit]").click()
            infra = page.locator('section[data-team="infrastructure"] li.problem').first
            await expect(infra).to_contain_text("edge:sfu-bergen", timeout=TIMEOUT_MS)
            product = page.locator('section[data-team="product"] li.problem').first
            await expect(product).to_contain_text("app 5.4.0 (new release) worse than 5.3.2")
            await expect(page.locator("#voc figure.chart svg")).to_have_count(5)
            # A teacher's name with markup stays text: nothing ran, no element was made.
            await expect(page.locator("#voc script")).to_have_count(0)
            await expect(page.locator('section[data-team="teaching"]')).to_contain_text(
                "<script>alert(1)</script>")
            await page.screenshot(path=shot_path("voc-digest"), full_page=True)
            await page.locator("#since").fill("soon")
            await page.locator("#voc-form button[type=submit]").click()
            await expect(page.locator("#voc-msg")).to_contain_text("cannot read")
    finally:
        await engine.dispose()
