"""Goodwill offers in real Chromium: an agent confirms a family's make-up lesson in the
console with a reason, ops confirms a line incident's bulk offer on the dashboard, and
each confirmation leaves one scheduling-webhook row per family (screenshots in
artifacts/browser/)."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from detectors.records import Incident
from monitor.desk.app import create_app
from outreach.decide.goodwill import GoodwillRules, Member, propose_bulk
from outreach.decide.goodwill import Proposal as Offer
from outreach.store.cases import CaseStore
from outreach.store.goodwill import GoodwillStore
from tests.support.browser import chromium, shot_path
from tests.support.channel_fakes import serve_asgi
from tests.support.desk_scenario import T0, scripted_desk
from tests.support.goodwill_receiver import school_rows

TIMEOUT_MS = 10_000


def problem(n: int, student: str, session: str) -> Incident:
    return Incident(f"disconnect-g{n}", "disconnect", "closed", T0, T0 + 5_000,
                    T0 + 900_000, {"edge": "edge-1"}, {}, session_id=session,
                    student_id=student, classroom_id="room-a")


async def test_agent_and_ops_confirm_offers_in_the_browser(tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk, chromium() as browser:
        ann, olga = await desk.users.add("ann", "agent"), await desk.users.add("olga", "ops")
        cases, store = CaseStore(desk.engine), GoodwillStore(desk.engine)
        one = (await cases.record_incident(problem(1, "stu-1", "s1"), {})).case_id
        two = (await cases.record_incident(problem(2, "stu-3", "s3"), {})).case_id
        await store.propose(Offer(one, "makeup", False, 15.0,
                                  (Member(one, "stu-1", "room-a", 15.0),), "15 minutes lost"))
        line = (await cases.record_incident(Incident(
            "line-ge1", "line", "closed", T0, T0, T0 + 900_000, {"edge": "edge-1"}, {},
            sessions=["s1", "s3"]), {})).case_id
        bulk = propose_bulk(GoodwillRules(), line, await store.line_families(line))
        assert isinstance(bulk, Offer)
        await store.propose(bulk)
        async with serve_asgi(create_app(desk.live.desk, desk.users)) as base:
            page = await browser.new_page()
            await page.goto(f"{base}/console#token={ann}")
            offer = page.locator(f'#goodwill [data-offer="{one}"]')
            await expect(offer).to_contain_text("MAKE-UP · stu-1", timeout=TIMEOUT_MS)
            await expect(page.locator(f'#goodwill [data-offer="{line}"]')).to_have_count(0)
            await page.fill(f'[data-reason="{one}"]', "lost most of the lesson")
            await page.screenshot(path=shot_path("goodwill-1-console-offer"), full_page=True)
            await page.click(f'[data-confirm="{one}"]')
            await expect(page.locator("#goodwill-status")).to_have_text(
                f"Confirmed: {one}", timeout=TIMEOUT_MS)
            await expect(offer).to_have_count(0)

            ops = await browser.new_page()
            await ops.goto(f"{base}/dashboard#token={olga}")
            row = ops.locator(f'#goodwill [data-offer="{line}"]')
            await expect(row).to_contain_text("2 families (line incident)", timeout=TIMEOUT_MS)
            await ops.click(f'[data-confirm="{line}"]')  # no reason: refused, said so
            await expect(ops.locator("#goodwill-status")).to_contain_text(
                "missing field", timeout=TIMEOUT_MS)
            await ops.fill(f'[data-reason="{line}"]', "edge-1 outage")
            await ops.click(f'[data-confirm="{line}"]')
            await expect(row).to_have_count(0, timeout=TIMEOUT_MS)
            await ops.screenshot(path=shot_path("goodwill-2-dashboard-bulk"), full_page=True)
        hooks = await school_rows(desk.engine)
        assert sorted(h.message_id for h in hooks) == sorted([one, two])
