"""A dead server never looks healthy, in real Chromium: within 5 s of the server stopping the
console and the dashboard say so and grey their figures; they reconnect with backoff and say
that too (screenshots in artifacts/browser/)."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Page, expect

from monitor.desk.app import create_app
from tests.support.browser import chromium, shot_path
from tests.support.channel_fakes import serve_asgi
from tests.support.desk_scenario import scripted_desk

DOWN_WITHIN_MS = 5_000  # the bound
BACK_WITHIN_MS = 15_000  # the backoff's steps are 0.5, 1, 2, 4, 8 s


async def is_stale(page: Page) -> bool:
    return bool(await page.evaluate(
        "() => document.body.classList.contains('stale') && "
        "Number(getComputedStyle(document.querySelector('main')).opacity) < 1"))


async def test_stopping_the_server_shows_the_banner_within_5_s_and_reconnecting_clears_it(
        tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk, chromium() as browser:
        ann = await desk.users.add("ann", "agent")
        olga = await desk.users.add("olga", "ops")
        await desk.run_to(150)
        app = create_app(desk.live.desk, desk.users)
        console, ops = await browser.new_page(), await browser.new_page()
        async with serve_asgi(app) as base:
            port = int(base.rsplit(":", 1)[1])
            await console.goto(f"{base}/console#token={ann}")
            await ops.goto(f"{base}/dashboard#token={olga}")
            for page in (console, ops):
                await expect(page.locator("#live.on")).to_be_visible(timeout=DOWN_WITHIN_MS)
            await expect(console.locator("#queue .q-item")).to_have_count(2)
            assert not await is_stale(console)
        # The server is gone.
        for page, name in ((console, "console"), (ops, "dashboard")):
            banner = page.locator("#conn-banner")
            await expect(banner).to_have_attribute("data-state", "down", timeout=DOWN_WITHIN_MS)
            await expect(banner).to_contain_text("Disconnected from the server")
            await expect(banner).to_contain_text("Reconnecting")
            assert await is_stale(page)
            await expect(page.locator("#live.on")).to_have_count(0)
            await page.screenshot(path=shot_path(f"connection-1-{name}-server-down"),
                                  full_page=True)
        # It keeps trying, and says which attempt it is on.
        await expect(console.locator("#conn-banner")).to_have_text(
            re.compile(r"Reconnecting in \d+ s \(attempt ([2-9]|\d\d)\)\.$"),
            timeout=BACK_WITHIN_MS)
        # It comes back on the same address: both pages find it and say so.
        async with serve_asgi(app, port=port):
            for page in (console, ops):
                banner = page.locator("#conn-banner")
                await expect(banner).to_have_attribute("data-state", "up", timeout=BACK_WITHIN_MS)
                await expect(banner).to_have_text("Reconnected; the figures are live again.")
                assert not await is_stale(page)
            await expect(console.locator("#queue .q-item")).to_have_count(2)
            await console.screenshot(path=shot_path("connection-2-reconnected"), full_page=True)
