"""Sign-in in real Chromium: one browser holds the agent's console and the ops dashboard at once."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from monitor.desk.app import create_app
from tests.support.browser import chromium
from tests.support.channel_fakes import serve_asgi
from tests.support.desk_scenario import scripted_desk

TIMEOUT_MS = 10_000


async def test_console_and_dashboard_keep_their_own_users_in_one_browser(tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk, chromium() as browser:
        app = create_app(desk.live.desk, desk.users)
        ann = await desk.users.add("ann", "agent")
        olga = await desk.users.add("olga", "ops")
        async with serve_asgi(app) as base:
            console = await browser.new_page()
            await console.goto(f"{base}/console#token={ann}")
            await expect(console.locator("#who")).to_have_text("ann (agent)", timeout=TIMEOUT_MS)
            dashboard = await browser.new_page()
            await dashboard.goto(f"{base}/dashboard#token={olga}")
            await expect(dashboard.locator("#who")).to_have_text("olga (ops)",
                                                                timeout=TIMEOUT_MS)
            # Reloading either page keeps its own user: the dashboard did not sign ann out.
            await console.reload()
            await expect(console.locator("#who")).to_have_text("ann (agent)", timeout=TIMEOUT_MS)
            await dashboard.reload()
            await expect(dashboard.locator("#who")).to_have_text("olga (ops)",
                                                                timeout=TIMEOUT_MS)
            # A page opened without a token takes the last one given (the reports link).
            reports = await browser.new_page()
            await reports.goto(f"{base}/reports")
            await expect(reports.locator("#who")).to_have_text("olga (ops)", timeout=TIMEOUT_MS)
            # Signing out of the dashboard leaves the console signed in.
            await dashboard.locator("#logout").click()
            await expect(dashboard.locator("#login")).to_be_visible(timeout=TIMEOUT_MS)
            await console.reload()
            await expect(console.locator("#who")).to_have_text("ann (agent)", timeout=TIMEOUT_MS)
