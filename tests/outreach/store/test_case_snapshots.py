"""The incident's telemetry on its case once, though every desk replica applies the incident."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.store.case_snapshots import add_first_snapshot
from outreach.store.cases import CaseStore
from tests.outreach.store.test_queue_claims import T, incident
from tests.support.casedb import case_engine  # noqa: F401


async def test_of_replicas_writing_the_first_snapshot_at_once_exactly_one_does(
        case_engine: AsyncEngine) -> None:  # noqa: F811
    store = CaseStore(case_engine, lambda: T + 1000)
    case = await store.record_incident(incident("lag-snap"), {})
    data = {"context": None, "points": {"ts": [T]}, "marks": []}
    wrote = await asyncio.gather(*(add_first_snapshot(store, case.case_id, data, T + 1000)
                                   for _ in range(6)))
    assert sorted(wrote) == [False] * 5 + [True]
    snaps = [e for e in await store.timeline(case.case_id) if e.kind == "telemetry"]
    assert len(snaps) == 1
    assert not await add_first_snapshot(store, "no-such-case", data, T)  # nothing to write on
