"""The batch of a poll: one transaction for the owner task's store calls, none for others."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from detectors.records import case_id_for
from outreach.store import unit
from outreach.store.cases import CaseStore
from outreach.store.models import cases
from tests.support.casedb import Begins, case_engine  # noqa: F401
from tests.support.live_support import incident


async def test_the_owner_tasks_store_calls_share_one_transaction(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    store = CaseStore(case_engine)
    counted = Begins(case_engine)
    async with unit.batch(case_engine):
        for n in range(20):
            opened = await store.open_case(incident(n, student=f"stu-{n}"), {})
            assert opened.created
            await store.add_event(opened.case.case_id, "note", {"n": n})
            assert await store.get(opened.case.case_id) is not None  # sees its own writes
    assert (counted.begun, counted.committed) == (1, 1)
    assert len(await store.timeline(case_id_for(incident(7, student="stu-7").incident_id))) == 2


async def test_a_failed_batch_leaves_nothing_and_runs_no_after_commit(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    store = CaseStore(case_engine)
    ran: list[str] = []

    async def later() -> None:
        ran.append("later")

    with pytest.raises(RuntimeError):
        async with unit.batch(case_engine):
            await store.open_case(incident(1), {})
            await unit.after_commit(case_engine, later)
            raise RuntimeError("a store failed")
    assert ran == [] and await store.by_incident(incident(1).incident_id) is None
    async with unit.batch(case_engine):
        await store.open_case(incident(1), {})
        await unit.after_commit(case_engine, later)
        await unit.after_commit(case_engine, later, key="once")
        await unit.after_commit(case_engine, later, key="once")
        assert ran == []  # not before the commit
    assert ran == ["later", "later"]


async def test_a_task_spawned_in_a_batch_uses_its_own_connection(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    store = CaseStore(case_engine)
    inc = incident(1)
    seen: dict[str, AsyncConnection] = {}

    async def spawned() -> bool:
        async with unit.read(case_engine) as conn:
            seen["task"] = conn
        return await store.by_incident(inc.incident_id) is not None

    async with unit.batch(case_engine) as batch:
        await store.open_case(inc, {})
        async with unit.read(case_engine) as conn:
            seen["owner"] = conn
        found = await asyncio.create_task(spawned())
    assert seen["owner"] is batch.conn and seen["task"] is not batch.conn
    assert not found  # the batch's write was not committed yet: another connection's view
    assert await store.by_incident(inc.incident_id) is not None


async def test_an_integrity_error_in_a_savepoint_does_not_abort_the_batch(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    store = CaseStore(case_engine)
    first = (await store.open_case(incident(1), {})).case
    row = {c.name: getattr(first, c.name) for c in cases.columns if hasattr(first, c.name)}
    async with unit.batch(case_engine):
        with pytest.raises(IntegrityError):
            async with unit.tx(case_engine, savepoint=True) as conn:
                await conn.execute(cases.insert().values(**row))  # the same case id again
        await store.add_event(first.case_id, "note", {"after": "the error"})
    assert [e.kind for e in await store.timeline(first.case_id)] == ["opened", "note"]


async def test_a_checkpoint_commits_and_the_batch_goes_on(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    store = CaseStore(case_engine)
    counted = Begins(case_engine)
    async with unit.batch(case_engine):
        await store.open_case(incident(1), {})
        await unit.checkpoint(case_engine)
        assert await asyncio.create_task(store.by_incident(incident(1).incident_id)) is not None
        await store.open_case(incident(2, student="stu-2"), {})
    assert counted.committed >= 2
    assert await store.by_incident(incident(2, student="stu-2").incident_id) is not None
