"""An edge outage in real Chromium: one queue item and no family item, a banner while it is
open, the owner acknowledges it, writes a note, and closes the families in one action.

Screenshots are kept in artifacts/browser/ (outage-*.png).
"""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect

from monitor.desk.app import create_app
from tests.support.browser import chromium, shot_path
from tests.support.channel_fakes import serve_asgi
from tests.support.outage_scenario import SORRY, UP_FROM_S, outage_desk

TIMEOUT_MS = 10_000


async def open_as(page: Page, base: str, path: str, token: str) -> None:
    await page.goto(f"{base}{path}#token={token}")
    await expect(page.locator("#live.on")).to_be_visible(timeout=TIMEOUT_MS)


async def test_an_outage_is_one_queue_item_with_a_banner_and_one_bulk_close(
        tmp_path: Path) -> None:
    async with outage_desk(tmp_path) as desk, chromium() as browser:
        app = create_app(desk.live.desk, desk.users)
        ann = await desk.users.add("ann", "agent")
        async with serve_asgi(app) as base:
            console = await browser.new_page()
            await open_as(console, base, "/console", ann)
            await expect(console.locator("#outage-banner")).to_be_hidden()

            await desk.run_to(100)  # sfu-oslo has been down for 40 s
            banner = console.locator("#outage-banner")
            await expect(banner).to_contain_text("Line incident: edge:sfu-oslo",
                                                 timeout=TIMEOUT_MS)
            await expect(banner).to_contain_text("9 sessions")
            await expect(console.locator("#queue .q-item")).to_have_count(1)
            await expect(console.locator("#queue .q-item.kind-line")).to_contain_text(
                "9 families under it")
            for kind in ("disconnect", "lag", "flapping"):
                await expect(console.locator(f"#queue .q-item.kind-{kind}")).to_have_count(0)
            await console.screenshot(path=shot_path("outage-1-one-queue-item-and-banner"))

            await banner.locator("button").click()
            problem = console.locator("#problem")
            await expect(problem).to_contain_text("Line incident edge:sfu-oslo",
                                                  timeout=TIMEOUT_MS)
            await expect(problem.locator("#children tr[data-case-id]")).to_have_count(9)
            await expect(problem.locator('dd[data-field="status"]')).to_have_text("new")
            await expect(problem.locator("#close-children")).to_be_disabled()

            await console.locator("#claim").click()  # acknowledge
            await expect(problem.locator('dd[data-field="owner"]')).to_have_text(
                "ann", timeout=TIMEOUT_MS)
            await expect(problem.locator('dd[data-field="status"]')).to_have_text(
                "acknowledged")
            await problem.locator("#problem-note").fill("The Oslo server is down; we are on it.")
            await problem.locator("#problem-note-save").click()
            await expect(console.locator("#status")).to_have_text("Note saved.")
            await console.screenshot(path=shot_path("outage-2-problem-acknowledged"),
                                     full_page=True)

            await console.locator("#close-children").click()
            await expect(console.locator("#status")).to_contain_text(
                "Closed 9 family cases as infra incident", timeout=TIMEOUT_MS)
            await expect(problem.locator('#children tr[data-state="closed"]')).to_have_count(9)
            await expect(problem.locator("#children")).to_contain_text("infra incident")
            await expect(console.locator("#held .q-item.kind-line")).to_have_count(1)
            await console.screenshot(path=shot_path("outage-3-families-closed-in-bulk"),
                                     full_page=True)

            await desk.run_to(UP_FROM_S + 100)  # the edge is back, the line incident over
            await expect(banner).to_be_hidden(timeout=TIMEOUT_MS)
            await expect(problem.locator('dd[data-field="status"]')).to_have_text(
                "over", timeout=TIMEOUT_MS)
            assert len([m for m in desk.sms.sent if m.text == SORRY]) == 9
            await console.screenshot(path=shot_path("outage-4-over-families-told"),
                                     full_page=True)


async def test_an_edge_outage_with_its_isp_lines_is_one_line_incident_on_both_screens(
        tmp_path: Path) -> None:
    # Five students of each ISP on the edge: the three ISP+region lines fail with it.
    async with outage_desk(tmp_path, per_isp=5) as desk, chromium() as browser:
        app = create_app(desk.live.desk, desk.users)
        ann, olga = await desk.users.add("ann", "agent"), await desk.users.add("olga", "ops")
        async with serve_asgi(app) as base:
            await desk.run_to(100)
            assert len(desk.live.desk.state.lines) == 4  # four line incident records
            console = await browser.new_page()
            await open_as(console, base, "/console", ann)
            banner = console.locator("#outage-banner")
            await expect(banner.locator(".outage")).to_have_count(1, timeout=TIMEOUT_MS)
            await expect(banner).to_contain_text("Line incident: edge:sfu-oslo")
            await expect(banner).to_contain_text("15 sessions · 3 related lines")
            await expect(console.locator("#queue .q-item")).to_have_count(1)
            await console.screenshot(path=shot_path("outage-5-one-banner-with-related-lines"))

            dash = await browser.new_page()
            await open_as(dash, base, "/dashboard", olga)
            await expect(dash.locator("#k-lines")).to_have_text("1", timeout=TIMEOUT_MS)
            rows = dash.locator("#lines tr[data-line]")
            await expect(rows).to_have_count(1)
            await expect(rows).to_have_attribute("data-line", "edge:sfu-oslo")
            await expect(rows).to_have_attribute("data-related", "3")
            await expect(rows.locator(".related-lines")).to_have_text(
                "3 related lines: isp:fjordnet/oslo (5), isp:kystlink/oslo (5), "
                "isp:nordfiber/oslo (5)")
            await expect(rows.locator("td").nth(1)).to_have_text("15")  # sessions once
            await expect(dash.locator("#k-trouble")).to_have_text("15")
            trouble = await dash.evaluate("""() => [...document.querySelectorAll(
                "#heat rect[data-trouble]")].reduce((a, r) => a + Number(r.dataset.trouble), 0)""")
            assert trouble == 15
            await dash.screenshot(path=shot_path("outage-6-dashboard-one-line-incident"),
                                  full_page=True)
