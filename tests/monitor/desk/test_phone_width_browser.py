"""The case view and the dashboard at 390 px (the on-call ops person's phone), in real Chromium:
no horizontal scroll, the actions and the chart inside the screen (screenshots in
artifacts/browser/)."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect

from detectors.records import Incident
from monitor.desk.app import create_app
from tests.support.browser import chromium, shot_path
from tests.support.channel_fakes import serve_asgi
from tests.support.desk_scenario import T0, scripted_desk

PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000


async def fits(page: Page, *selectors: str) -> None:
    """No horizontal scroll, and each element's right edge on the screen."""
    widths = await page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth,"
        " document.body.scrollWidth]")
    assert widths[0] <= widths[1] == PHONE["width"] and widths[2] <= PHONE["width"], widths
    for sel in selectors:
        box = await page.locator(sel).first.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (
            sel, box)


async def test_the_case_view_and_the_dashboard_fit_a_390_px_phone(tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk, chromium() as browser:
        ann = await desk.users.add("ann", "agent")
        olga = await desk.users.add("olga", "ops")
        await desk.run_to(150)
        await desk.live.desk.apply(Incident(
            "line-edge-1", "line", "open", T0 + 140_000, T0 + 145_000, None, {"edge": "edge-1"},
            {}, sessions=["s1", "s3"]))
        async with serve_asgi(create_app(desk.live.desk, desk.users)) as base:
            page = await browser.new_page()
            await page.set_viewport_size(PHONE)
            await page.goto(f"{base}/console#token={ann}")
            await page.locator("#queue .q-item.kind-disconnect").click()
            await page.locator("#claim").click()
            await expect(page.locator("#case-owner")).to_have_text("owner ann",
                                                                   timeout=TIMEOUT_MS)
            await page.locator("#call").click()  # no answer: the offers row shows too
            await expect(page.locator("#call-offers")).to_be_visible(timeout=TIMEOUT_MS)
            await fits(page, "#queue", "#claim", "#resolve", "#call-back", "#chart",
                       "#context", "#script", "#timeline")
            # The chart is drawn at the card's width, so its words stay readable (>= 10 px).
            sizes = await page.evaluate("() => [...document.querySelectorAll('#chart text')]"
                                        ".filter((t) => t.textContent)"
                                        ".map((t) => t.getBoundingClientRect().height)")
            assert sizes and min(sizes) >= 10, sizes
            await page.screenshot(path=shot_path("phone-1-case-view-390px"), full_page=True)
            await page.locator("#chart").screenshot(path=shot_path("phone-1b-chart-390px"))

            await page.goto(f"{base}/dashboard#token={olga}")
            await expect(page.locator("#k-lines")).to_have_text("1", timeout=TIMEOUT_MS)
            await fits(page, "#k-trouble", "#trend-incidents", "#heat", "#live-incidents",
                       "#lines")
            await page.screenshot(path=shot_path("phone-2-dashboard-390px"), full_page=True)
