"""The case chart in real Chromium: the problem window always in view even when the kept
telemetry begins later, joined episodes shaded, values on hover, a legend, labels that do not
overlap (screenshots in artifacts/browser/)."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from detectors.records import Incident
from monitor.desk.app import create_app
from monitor.desk.ring import TelemetryRing
from outreach.store.case_joins import CaseJoins
from tests.support.browser import chromium, shot_path
from tests.support.channel_fakes import serve_asgi
from tests.support.desk_scenario import T0, raw, scripted_desk

TIMEOUT_MS = 10_000
BOXES = """(sel) => [...document.querySelectorAll(sel)].map((e) => {
  const b = e.getBBox(); return [b.x, b.y, b.x + b.width, b.y + b.height]; })"""


def overlaps(boxes: list[list[float]]) -> list[tuple[int, int]]:
    return [(i, j) for i, a in enumerate(boxes) for j, b in enumerate(boxes) if i < j
            and a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]]


async def test_the_chart_shows_the_whole_problem_with_hover_legend_and_clear_labels(
        tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk, chromium() as browser:
        ann = await desk.users.add("ann", "agent")
        # A ring that keeps only 40 s of stats: the lag (from 20 s) began long before them.
        desk.live.ring = desk.live.desk.ring = TelemetryRing(points=20)
        await desk.run_to(150)
        # Reconnect marks 0.4 s apart (their labels would sit on top of each other).
        desk.live.ring.feed_raw([raw({"type": "reconnect", "ts": T0 + 130_000 + k * 400,
                                      "session_id": "s1", "student_id": "stu-1",
                                      "classroom_id": "room-a", "attempt": k + 1, "ok": k == 3})
                                 for k in range(4)])
        lag_case = await desk.live.desk.store.by_incident(
            next(i for i in desk.live.desk.state.live if i.startswith("lag")))
        assert lag_case is not None
        earlier = Incident("disconnect-early", "disconnect", "closed", T0 + 5_000, T0 + 15_000,
                           T0 + 12_000, {"edge": "edge-1"}, {}, "s1", "stu-1", "room-a")
        joins = CaseJoins(desk.live.desk.store)  # the drop joins the family's open case
        assert (await joins.take(earlier, {})).case.case_id == lag_case.case_id
        await joins.update(earlier)
        async with serve_asgi(create_app(desk.live.desk, desk.users)) as base:
            page = await browser.new_page()
            await page.goto(f"{base}/console#token={ann}")
            await page.locator("#queue .q-item.kind-lag").click()
            chart = page.locator("#chart")
            await expect(chart.locator("path[data-series=rtt_ms]")).to_have_count(
                1, timeout=TIMEOUT_MS)

            # The problem window starts inside the chart and before the kept telemetry.
            window = await chart.locator("rect[data-role=incident]").evaluate(
                "(e) => [e.x.baseVal.value, e.width.baseVal.value]")
            first_x = await chart.locator("path[data-series=rtt_ms]").evaluate(
                "(e) => e.getPointAtLength(0).x")
            assert 56 <= window[0] < first_x and window[1] > 0
            await expect(chart.locator("text[data-role=gap]")).to_have_text(
                "no telemetry kept before 09:01:52")
            await expect(chart.locator("rect[data-role=episode]")).to_have_count(1)

            legend = page.locator(".chart-legend")
            await expect(legend.locator("[data-legend=limit-rtt_ms]")).to_have_text(
                "RTT ms threshold 500")
            await expect(legend.locator("[data-legend=limit-fps]")).to_have_text("fps floor 7")
            await expect(legend.locator("[data-legend=window]")).to_have_text("problem window")
            await expect(legend.locator("[data-legend=mark-reconnect]")).to_have_count(1)

            labels = await page.evaluate(BOXES, "#chart text[data-mark-label]")
            assert len(labels) >= 2 and overlaps(labels) == []
            await expect(chart.locator("line[data-mark=reconnect]")).to_have_count(3)

            box = await chart.bounding_box()
            assert box is not None
            await page.mouse.move(box["x"] + box["width"] * 0.97, box["y"] + 40)
            hover = chart.locator("text[data-role=hover]")
            await expect(hover).to_be_visible()
            await expect(hover).to_contain_text("RTT 880 ms · loss 18 % · fps 4 · freeze 1300 ms")
            await page.screenshot(path=shot_path("chart-1-problem-window-hover-legend"),
                                  full_page=True)
