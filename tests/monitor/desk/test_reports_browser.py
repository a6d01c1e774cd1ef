"""The reports page in real Chromium: support figures, charts over time, sortable columns,
and the infrastructure's line incidents apart from the families' own problems."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from detectors.records import Incident
from monitor.desk.app import create_app
from outreach.store.line_problems import LineProblems
from tests.support.browser import chromium, shot_path
from tests.support.channel_fakes import serve_asgi
from tests.support.desk_scenario import T0, scripted_desk

TIMEOUT_MS = 10_000


async def test_reports_show_support_figures_charts_sorting_and_lines_apart(
        tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk, chromium() as browser:
        app = create_app(desk.live.desk, desk.users)
        olga = await desk.users.add("olga", "ops")
        await desk.run_to(200)  # a lag (room-a) and a drop-out (room-b), both queued
        store, queue = desk.live.desk.store, desk.live.desk.queue
        outage = Incident(incident_id="line-edge-9", kind="line", state="open",
                          started_at=T0 + 60_000, detected_at=T0 + 70_000, ended_at=None,
                          line={"edge": "edge-9"}, evidence={}, sessions=["x", "y"])
        case = await store.record_incident(outage, {})
        await queue.save_context(case.case_id, {"line": "edge:edge-9", "cause": "line"})
        isp = await store.record_incident(Incident(  # fails only because edge-9 is down
            incident_id="line-isp-9", kind="line", state="open", started_at=T0 + 61_000,
            detected_at=T0 + 72_000, ended_at=None, line={"isp": "fjordnet", "region": "oslo"},
            evidence={"related_to": "edge:edge-9"}, sessions=["x"]), {})
        await queue.save_context(isp.case_id, {"line": "isp:fjordnet/oslo", "cause": "line"})
        await LineProblems(store).attach(case.case_id, isp.case_id, "related_line", T0 + 73_000)
        async with serve_asgi(app) as base:
            page = await browser.new_page()
            await page.goto(f"{base}/reports#token={olga}")
            await page.locator("#since").fill("2025-12-31")
            await page.locator("#report-form button[type=submit]").click()

            # Support figures: both families were contacted, both cases wait for a technician.
            first = page.locator('[data-kpi="first-contact-p50"] .l')
            await expect(first).to_contain_text("(2 families)", timeout=TIMEOUT_MS)
            await expect(page.locator('[data-kpi="queued"] .v')).to_have_text("2")
            # Charts over time, one line per classroom, with a legend naming it.
            for box in ("#chart-minutes", "#chart-incidents"):
                await expect(page.locator(f"{box} .uplot canvas")).to_have_count(1)
                await expect(page.locator(f"{box} .u-legend")).to_contain_text("room-a")
                await expect(page.locator(f"{box} .u-legend")).to_contain_text("room-b")

            # Sorting: by classroom name ascending, then descending.
            rows = page.locator("#report tr[data-key]")
            await page.locator('#report th[data-col="key"]').click()
            await expect(rows.first).to_have_attribute("data-key", "room-a")
            await expect(page.locator('#report th[data-col="key"]')).to_have_attribute(
                "aria-sort", "ascending")
            await page.locator('#report th[data-col="key"]').click()
            await expect(rows.first).to_have_attribute("data-key", "room-b")
            await page.screenshot(path=shot_path("reports-by-classroom"), full_page=True)

            # By line: the families' problems on their lines, the outage in its own table.
            await page.locator("#by").select_option("line")
            await page.locator("#report-form button[type=submit]").click()
            await expect(page.locator("#rows-title")).to_have_text(
                "Families' own problems by line", timeout=TIMEOUT_MS)
            await expect(page.locator('#report tr[data-key="edge:edge-9"]')).to_have_count(0)
            await expect(page.locator("#infra-card")).to_be_visible()
            await expect(page.locator('#infra tr[data-key="edge:edge-9"]')).to_have_count(1)
            # One outage, one line incident: the related ISP line is listed under the edge's.
            await expect(page.locator("#infra tr[data-key]")).to_have_count(1)
            await expect(page.locator('#infra tr[data-key="edge:edge-9"] .related-lines')
                         ).to_have_text("related lines: isp:fjordnet/oslo")
            await expect(page.locator('#infra tr[data-key="edge:edge-9"] td[data-col="incidents"]')
                         ).to_have_text("1")
            await page.screenshot(path=shot_path("reports-by-line"), full_page=True)

            # The weekly digest is one click away.
            await page.locator("#voc-link").click()
            await expect(page).to_have_url(f"{base}/reports/voc", timeout=TIMEOUT_MS)
