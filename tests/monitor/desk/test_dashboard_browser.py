"""The ops dashboard in real Chromium: tiles, heat map and tables agree in every snapshot, and
the last hour's trends keep a peak that is over (screenshots in artifacts/browser/)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from playwright.async_api import Page, expect

from detectors.records import Incident
from monitor.desk.app import create_app
from tests.support.browser import chromium, shot_path
from tests.support.channel_fakes import serve_asgi
from tests.support.desk_scenario import T0, scripted_desk

TIMEOUT_MS = 10_000


def outage(state: str) -> Incident:
    return Incident("line-edge-1", "line", state, T0 + 140_000, T0 + 145_000,  # type: ignore[arg-type]
                    None if state == "open" else T0 + 170_000, {"edge": "edge-1"}, {},
                    sessions=["s1", "s3"])


def related_isp() -> Incident:
    return Incident("line-isp-1", "line", "open", T0 + 141_000, T0 + 146_000, None,
                    {"isp": "fjordnet", "region": "oslo"}, {"related_to": "edge:edge-1"},
                    sessions=["s1", "s3"])


async def agree(page: Page) -> dict[str, int]:
    """The tiles, the table rows and the heat map's cells, read from one rendered snapshot."""
    figures: dict[str, int] = await page.evaluate("""() => {
      const n = (id) => Number(document.getElementById(id).textContent);
      const rows = (id) => document.querySelectorAll("#" + id + " tr td:not(.empty)").length
        / (document.querySelector("#" + id + " tr").children.length);
      const heat = [...document.querySelectorAll("#heat rect[data-trouble]")]
        .reduce((a, r) => a + Number(r.dataset.trouble), 0);
      return { live: n("k-live"), lines: n("k-lines"), trouble: n("k-trouble"),
               live_rows: rows("live-incidents"), line_rows: rows("lines"), heat };
    }""")
    assert figures["live"] == figures["live_rows"]
    assert figures["lines"] == figures["line_rows"]
    assert figures["trouble"] == figures["heat"]
    return figures


async def test_tiles_heat_map_and_tables_agree_and_the_trend_keeps_the_outage(
        tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk, chromium() as browser:
        olga = await desk.users.add("olga", "ops")
        await desk.run_to(150)
        await desk.live.desk.apply(outage("open"))  # edge-1 fails: s1 lags, s3 only on the line
        await desk.live.desk.apply(related_isp())  # the ISP line fails only because of it
        async with serve_asgi(create_app(desk.live.desk, desk.users)) as base:
            page = await browser.new_page()
            await page.goto(f"{base}/dashboard#token={olga}")
            await expect(page.locator("#k-lines")).to_have_text("1", timeout=TIMEOUT_MS)
            assert await agree(page) == {"live": 2, "lines": 1, "trouble": 3, "live_rows": 2,
                                         "line_rows": 1, "heat": 3}
            await expect(page.locator("#lines tr[data-line] .related-lines")).to_have_text(
                "1 related line: isp:fjordnet/oslo (2)")  # one outage, one line incident
            await expect(page.locator('#heat rect[data-line="edge-1|fjordnet|oslo"]')
                         ).to_have_attribute("data-share", "1")
            await expect(page.locator("#trend-incidents")).to_have_attribute("data-last", "3")
            await page.screenshot(path=shot_path("dashboard-1-outage-agrees"), full_page=True)

            # Forty seconds on, the outage is over: the figures drop, the trend keeps its peak.
            await desk.live.desk.apply(outage("closed"))
            await desk.live.desk.apply(replace(related_isp(), state="closed",
                                               ended_at=T0 + 170_000))
            await desk.run_to(190)
            await expect(page.locator("#k-lines")).to_have_text("0", timeout=TIMEOUT_MS)
            assert (await agree(page))["trouble"] == 2
            trend = page.locator("#trend-incidents")
            await expect(trend).to_have_attribute("data-last", "2", timeout=TIMEOUT_MS)
            await expect(trend).to_have_attribute("data-peak", "3")
            await expect(trend.locator("path")).to_have_count(1)
            await expect(page.locator("#trend-queue_depth")).to_have_attribute("data-last", "2")
            await page.screenshot(path=shot_path("dashboard-2-trend-keeps-the-peak"),
                                  full_page=True)
