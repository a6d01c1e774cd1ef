"""One page per outage: an ISP+region line that fails only because its edge is down adds a note
to the outage's page instead of paging again, in whichever order the records come; an ISP line
whose edge is not down is paged on its own. The queue keeps one item through it all, also when
the edge's incident closes before the ISP line's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident, case_id_for
from monitor.streaming.bus_feed import ListOutcomeSink
from outreach.channels import CHANNEL_NAMES
from outreach.contact.metrics import OutreachMetrics
from outreach.contact.runtime import CaseRuntime, RuntimeConfig
from outreach.decide.decision import ChannelName
from outreach.store.queue import QueueStore
from tests.support.casedb import sqlite_engine
from tests.support.channel_fakes import FakeChannel
from tests.support.line_fakes import line_incident
from tests.support.live_support import FAST, T0, FakePager, harness

SESSIONS = ["s1", "s2", "s3", "s4", "s5", "s6"]


@dataclass
class Paging:
    engine: AsyncEngine
    runtime: CaseRuntime
    queue: QueueStore
    pager: FakePager
    metrics: OutreachMetrics

    def counted(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0

    async def queued(self) -> list[str]:
        return [r.case_id for r in await self.queue.rows()]


@pytest.fixture
async def paging(tmp_path: Path) -> AsyncIterator[Paging]:
    engine = await sqlite_engine(tmp_path)
    base = await harness(engine, tmp_path)
    await base.runner.aclose()
    fakes: dict[ChannelName, object] = {n: FakeChannel(n) for n in CHANNEL_NAMES}
    metrics, pager = OutreachMetrics.create(), FakePager()
    queue = QueueStore(engine, base.cases, lambda: T0 + 60_000)
    runtime = CaseRuntime(base.cases, base.directory, fakes, ListOutcomeSink(),  # type: ignore[arg-type]
                          config=RuntimeConfig(FAST, close_wait_s=5), metrics=metrics,
                          pager=pager, queue=queue, wall=lambda: T0 + 60_000)
    yield Paging(engine, runtime, queue, pager, metrics)
    await runtime.aclose()
    await engine.dispose()


def isp(name: str, state: str = "open", related_to: str = "edge:e1") -> Incident:
    return Incident(f"line-{name}", "line", state, T0 + 1_000, T0 + 9_000,  # type: ignore[arg-type]
                    T0 + 90_000 if state == "closed" else None, {"isp": name, "region": "oslo"},
                    {"related_to": related_to, "edge_share": 1.0}, sessions=SESSIONS[:2])


EDGE = line_incident("open", SESSIONS, start=T0)


async def test_an_edge_then_its_isp_lines_page_once_and_add_notes(paging: Paging) -> None:
    for record in (EDGE, isp("fjordnet"), isp("kystlink"), isp("nordfiber")):
        await paging.runtime.handle(record)
    keys = [k for k, _ in paging.pager.pages]
    assert keys == ["line-edge-1", "line-edge-1:note:line-fjordnet",
                    "line-edge-1:note:line-kystlink", "line-edge-1:note:line-nordfiber"]
    pages = [p for _, p in paging.pager.pages]
    assert [p["kind"] for p in pages] == ["line_incident"] + ["line_incident_note"] * 3
    assert {p["page_key"] for p in pages[1:]} == {"line-edge-1"}
    assert {p["outage_case_id"] for p in pages[1:]} == {case_id_for("line-edge-1")}
    assert [p["related_lines"] for p in pages] == [[]] * 4  # none open when the edge paged
    assert paging.counted("firstcall_infra_pages_total", result="sent") == 1
    assert paging.counted("firstcall_infra_pages_total", result="noted") == 3
    assert paging.counted("firstcall_line_incidents_total", role="outage") == 1
    assert paging.counted("firstcall_line_incidents_total", role="related") == 3
    assert await paging.queued() == [case_id_for("line-edge-1")]


async def test_an_isp_line_that_comes_first_holds_the_page_and_the_edge_adds_a_note(
        paging: Paging) -> None:
    await paging.runtime.handle(isp("fjordnet"))  # nothing tells yet that the edge is down
    assert await paging.queued() == [case_id_for("line-fjordnet")]
    await paging.runtime.handle(EDGE)
    await paging.runtime.handle(isp("kystlink"))
    assert [k for k, _ in paging.pager.pages] == [
        "line-fjordnet", "line-fjordnet:note:line-edge-1", "line-fjordnet:note:line-kystlink"]
    assert paging.counted("firstcall_line_incidents_total", role="outage") == 1
    assert await paging.queued() == [case_id_for("line-edge-1")]  # one queue item: the edge's


async def test_the_edges_note_names_the_isp_lines_paged_before_it_as_its_related_lines(
        paging: Paging) -> None:
    for record in (isp("fjordnet"), isp("kystlink"), EDGE):  # nothing told the ISP lines apart
        await paging.runtime.handle(record)
    keys = [k for k, _ in paging.pager.pages]
    assert keys == ["line-fjordnet", "line-kystlink", "line-fjordnet:note:line-edge-1"]
    pages = {k: p for k, p in paging.pager.pages}
    assert pages["line-fjordnet:note:line-edge-1"]["related_lines"] == [
        {"line_id": "isp:fjordnet/oslo", "case_id": pages["line-fjordnet"]["case_id"]},
        {"line_id": "isp:kystlink/oslo", "case_id": pages["line-kystlink"]["case_id"]}]
    assert pages["line-fjordnet"]["related_lines"] == []  # an ISP line's page names none


async def test_the_edge_closing_first_leaves_its_isp_line_under_it(paging: Paging) -> None:
    for record in (EDGE, isp("fjordnet")):
        await paging.runtime.handle(record)
    await paging.runtime.handle(line_incident("closed", [], start=T0, ended=T0 + 80_000))
    assert await paging.queued() == []  # the ISP line does not become an item of its own
    await paging.runtime.handle(isp("fjordnet", "closed"))
    assert await paging.queued() == []
    assert len(paging.pager.pages) == 2  # the page and its note, nothing more


async def test_an_isp_line_whose_edge_is_not_down_is_paged_on_its_own(paging: Paging) -> None:
    await paging.runtime.handle(EDGE)
    await paging.runtime.handle(isp("telia", related_to="edge:e7"))
    assert [k for k, _ in paging.pager.pages] == ["line-edge-1", "line-telia"]
    assert paging.counted("firstcall_line_incidents_total", role="outage") == 2


async def test_a_note_the_pager_refused_counts_as_failed(paging: Paging) -> None:
    await paging.runtime.handle(EDGE)
    paging.pager.ok = False
    await paging.runtime.handle(isp("fjordnet"))
    assert paging.counted("firstcall_infra_pages_total", result="failed") == 1
    events = await paging.runtime.cases.timeline(case_id_for("line-fjordnet"))
    [note] = [e.data for e in events if e.kind == "paged"]
    assert (note["ok"], note["page_key"], note["note_to"]) == (
        False, "line-edge-1", case_id_for("line-edge-1"))
