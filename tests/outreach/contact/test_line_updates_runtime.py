"""A big line incident on the case runtime: each update in constant work, nobody behind it
forgotten (issue 20)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from detectors.records import Incident, case_id_for, encode
from tests.support.casedb import sqlite_engine
from tests.support.line_outage import CountingCases, outage_records
from tests.support.live_support import Harness, decision, harness, incident, until

QUEUED_CALL = "queued"


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    engine = await sqlite_engine(tmp_path)
    made = await harness(engine, tmp_path)
    yield made
    await made.runner.aclose()
    await engine.dispose()


@pytest.fixture(scope="module")
def records() -> list[Incident]:
    return outage_records(5_000)


async def test_a_5000_session_line_incident_costs_one_event_per_bounded_update(
    h: Harness, records: list[Incident]
) -> None:
    *running, closed = records
    assert closed.state == "closed" and closed.session_count == 5_000
    assert len(records) < 100 and max(len(encode(r)) for r in records[1:]) < 20_000
    reads = CountingCases(h.cases)
    for r in running:
        await h.runner.handle(r)
    case_id = case_id_for(records[0].incident_id)
    # No re-reading of the line case's timeline per update (it was read twice per update).
    assert reads.reads.get(case_id, 0) == 0
    events = [e.kind for e in await h.cases.timeline(case_id)]
    assert events.count("incident_update") == len(running) - 1  # one event per update record
    assert events.count("paged") == 1 and len(h.pager.pages) == 1
    assert h.pager.pages[0][1]["sessions"] == records[0].session_count
    # Redelivered, they add nothing and are counted as duplicates.
    for r in running:
        await h.runner.handle(r)
    assert [e.kind for e in await h.cases.timeline(case_id)] == events
    assert h.counted("firstcall_outreach_duplicates_total", record="incident") == len(running)
    # Every session named by any record is covered; the closed record ends every cover.
    last = records[-2].sessions or []
    assert last and h.runner.lines.covers(last[-1], records[0].started_at + 1)
    await h.runner.handle(closed)
    case = await h.cases.get(case_id)
    assert case is not None and case.state == "closed"
    assert [r.outcome for r in h.sink.records] == ["infra_incident"]


async def test_an_unrelated_family_behind_the_line_records_is_contacted(
    h: Harness, records: list[Incident]
) -> None:
    from outreach.channels.base import SendResult

    h.fakes["call"].script(SendResult(QUEUED_CALL, provider_id="p"))
    other = incident(1)  # stu-1, on another edge: not in the outage
    other = replace(other, line={"edge": "e9", "isp": "isp-b", "region": "south"})
    for r in [*records[: len(records) // 2], other, *records[len(records) // 2 :]]:
        await h.runner.handle(r)
    await h.runner.handle(decision(other, "call"))
    await until(lambda: len(h.fakes["call"].sent) == 1)
    assert h.fakes["call"].sent[0].case_id == case_id_for(other.incident_id)
