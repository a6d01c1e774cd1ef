"""The console, dashboard and reports in real Chromium: a lag appears, rises, is claimed, resolved.

One scripted school (tests/support/desk_scenario.py) plays while the pages watch over
the websocket; screenshots are kept in artifacts/browser/.
"""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect

from detectors.records import Incident
from monitor.desk.app import create_app
from tests.support.browser import chromium, shot_path
from tests.support.channel_fakes import serve_asgi
from tests.support.desk_scenario import T0, scripted_desk

TIMEOUT_MS = 10_000


async def open_as(page: Page, base: str, path: str, token: str) -> None:
    await page.goto(f"{base}{path}#token={token}")
    await expect(page.locator("#live.on")).to_be_visible(timeout=TIMEOUT_MS)


async def test_a_lag_rises_in_the_queue_is_claimed_charted_resolved_and_reported(
        tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk, chromium() as browser:
        app = create_app(desk.live.desk, desk.users)
        ann = await desk.users.add("ann", "agent")
        olga = await desk.users.add("olga", "ops")
        async with serve_asgi(app) as base:
            console = await browser.new_page()
            await open_as(console, base, "/console", ann)
            await expect(console.locator("#queue .empty")).to_have_text("Nobody is waiting.")

            # The lag of stu-1 appears once nobody answered the chat, the call or the SMS;
            # then stu-2 drops out and, with a larger head start, goes above it.
            await desk.run_to(150)
            lag = console.locator("#queue .q-item.kind-lag")
            await expect(lag).to_have_attribute("data-rank", "2", timeout=TIMEOUT_MS)
            await expect(console.locator("#queue .q-item.kind-disconnect")).to_have_attribute(
                "data-rank", "1")
            await console.screenshot(path=shot_path("1-queue-lag-below-disconnect"))

            # Past its service level the lag rises to the top.
            await desk.run_to(190)
            await expect(lag).to_have_attribute("data-rank", "1", timeout=TIMEOUT_MS)
            await expect(lag).to_have_class("q-item kind-lag breached")
            await expect(lag.locator(".sub")).to_contain_text("past SLA")
            await console.screenshot(path=shot_path("2-queue-lag-rose-past-sla"))

            # Pickup: claim, and everything is on one screen.
            await lag.click()
            await console.locator("#claim").click()
            await expect(console.locator("#case-owner")).to_have_text("owner ann",
                                                                     timeout=TIMEOUT_MS)
            await expect(console.locator("#chart path[data-series=rtt_ms]")).to_have_count(1)
            await expect(console.locator("#chart path[data-series=fps]")).to_have_count(1)
            await expect(console.locator("#chart rect[data-role=incident]")).to_have_count(1)
            await expect(console.locator('#context dd[data-field="device"]')).to_have_text("pc")
            await expect(console.locator('#context dd[data-field="app version"]')).to_have_text(
                "5.1.3")
            await expect(console.locator("#script")).to_contain_text("stutter")
            await expect(console.locator("#timeline")).to_contain_text("claimed (ann)")
            await console.locator("#call").click()
            await expect(console.locator("#status")).to_contain_text("Calling the guardian")
            assert desk.calls.sent[-1].student_id == "stu-1"
            await console.screenshot(path=shot_path("3-case-picked-up-with-chart"), full_page=True)

            await console.locator("#outcome").select_option("resolved_by_call")
            await console.locator("#note").fill("moved the laptop next to the router")
            await console.locator("#resolve").click()
            # Nobody reported the call answered: the console asks before it believes it.
            await expect(console.locator("#confirm-why")).to_contain_text(
                "no call on this case was answered")
            await console.locator("#confirm-resolve").click()
            await expect(console.locator("#status")).to_contain_text("Resolved: solved on a call")
            await expect(console.locator("#case-state")).to_have_text("state closed")
            await expect(console.locator("#queue .q-item.kind-lag")).to_have_count(0)

            # The ops dashboard and the report show it.
            ops = await browser.new_page()
            await open_as(ops, base, "/dashboard", olga)
            await expect(ops.locator("#k-live")).to_have_text("2")
            await expect(ops.locator("#k-depth")).to_have_text("1")
            await expect(ops.locator('#heat rect[data-line="edge-2|kystlink|bergen"]')
                         ).to_have_attribute("data-share", "1")
            await ops.screenshot(path=shot_path("4-ops-dashboard"), full_page=True)

            await ops.goto(f"{base}/reports")
            await ops.locator("#since").fill("2025-12-31")
            await ops.locator("#report-form button[type=submit]").click()
            row = ops.locator('#report tr[data-key="room-a"]')
            await expect(row).to_contain_text("resolved_by_call 1", timeout=TIMEOUT_MS)
            await expect(row).to_contain_text("lag: freeze")
            await expect(ops.locator("#report-msg")).to_contain_text("total: 2 incidents")
            async with ops.expect_download() as download:
                await ops.locator("#csv").click()
            csv_file = await (await download.value).path()
            assert "room-a,1," in Path(str(csv_file)).read_text()
            await ops.screenshot(path=shot_path("5-report-by-classroom"), full_page=True)


async def test_a_problem_joining_a_claimed_case_shows_a_band_a_counter_a_toast_and_moves_up(
        tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk, chromium() as browser:
        app = create_app(desk.live.desk, desk.users)
        ann = await desk.users.add("ann", "agent")
        await desk.run_to(150)
        for row in await desk.live.desk.queue.rows():  # stu-1's lag, stu-2's drop
            assert await desk.live.desk.queue.claim(row.case_id, "ann") is None
        async with serve_asgi(app) as base:
            console = await browser.new_page()
            await open_as(console, base, "/console", ann)
            # Both held cases listed and the queue drawn (as an agent sees the page) before
            # the click: a click while the first lists are still being drawn may miss.
            await expect(console.locator("#held .q-item")).to_have_count(2, timeout=TIMEOUT_MS)
            await expect(console.locator("#queue .empty")).to_have_text("Nobody is waiting.")
            await console.locator("#held .q-item.kind-lag").click()
            await expect(console.locator("#case-owner")).to_have_text("owner ann",
                                                                     timeout=TIMEOUT_MS)
            await expect(console.locator("#recurrence")).to_have_attribute(
                "data-recurrences", "0")
            await expect(console.locator("#toast")).to_be_hidden()
            await expect(console.locator("#recurring-box")).to_be_hidden()
            held_lag = console.locator("#held .q-item.kind-lag")
            await expect(held_lag).to_have_attribute("data-rank", "2")  # the drop is newer
            queued = len(await desk.live.desk.queue.rows())
            # stu-1's link fails again (a flapping of the same session): it joins ann's case.
            again = Incident("flapping-s1-again", "flapping", "open", T0 + 140_000,
                             T0 + 150_000, None, {"edge": "edge-1"}, {}, "s1", "stu-1",
                             "room-a")  # fmt: skip
            await desk.live.handle(again)
            await expect(console.locator("#toast")).to_contain_text(
                "problem is back: 2 problems", timeout=TIMEOUT_MS)
            await expect(console.locator("#recurrence")).to_have_attribute(
                "data-recurrences", "1")
            await expect(console.locator("#chart rect[data-role=episode]")).to_have_count(1)
            await expect(held_lag).to_have_attribute("data-rank", "1")  # the item moved up
            await expect(console.locator("#diagnosis")).to_contain_text(
                "recurring on the family's side: line healthy, 2 episodes")
            await expect(console.locator("#tech-steps li")).to_have_count(4)
            await expect(console.locator("#held .q-item")).to_have_count(2)
            await expect(console.locator("#queue .empty")).to_have_text("Nobody is waiting.")
            assert len(await desk.live.desk.queue.rows()) == queued  # no new queue item
            await console.screenshot(path=shot_path("6-a-problem-joins-the-claimed-case"),
                                     full_page=True)
