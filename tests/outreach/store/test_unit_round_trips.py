"""What a store call outside a poll's batch sends to PostgreSQL: a read or a one-statement
write goes alone, in autocommit (no BEGIN, COMMIT or ROLLBACK round trips); a write of several
statements keeps its transaction; inside a batch everything joins the batch's one transaction.
SQLite keeps its transactions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.store import unit
from outreach.store.cases import CaseStore
from outreach.store.db import PoolSettings, make_engine, upgrade
from outreach.store.outbox import Outbox
from tests.support.casedb import (
    PG_DSN,
    Begins,
    RoundTrips,
    case_engine,  # noqa: F401
    drop_schema,
    postgres_schema,
)
from tests.support.live_support import incident


@asynccontextmanager
async def one_connection() -> AsyncIterator[AsyncEngine]:
    """A migrated PostgreSQL schema behind an engine of one connection (every call reuses it)."""
    schema = await postgres_schema()
    engine = make_engine(PG_DSN, schema=schema, pool=PoolSettings(size=1, overflow=0))
    try:
        await upgrade(engine)
        yield engine
    finally:
        await engine.dispose()
        await drop_schema(schema)


async def opened(store: CaseStore, n: int = 1) -> str:
    """A case of its own for the test (opened before counting)."""
    return (await store.open_case(incident(n, student=f"stu-{n}"), {})).case.case_id


async def counting(engine: AsyncEngine) -> RoundTrips:
    """Count what reaches the server from now on (what was under way before is let through)."""
    counted = RoundTrips(engine)
    await counted.settle()
    counted.reset()
    return counted


async def sent(counted: RoundTrips) -> tuple[int, list[str]]:
    """Statements and transaction control sent since the last look; counting starts again."""
    await counted.settle()
    found = (counted.count, list(counted.control))
    counted.reset()
    return found


async def test_a_read_outside_a_batch_sends_its_statement_and_no_begin(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    store = CaseStore(case_engine)
    case_id = await opened(store)
    counted, begins = await counting(case_engine), Begins(case_engine)

    case = await store.get(case_id)
    timeline = await store.timeline(case_id)

    assert case is not None and [e.kind for e in timeline] == ["opened"]
    assert await sent(counted) == (2, [])  # SQLite: no asyncpg, nothing else to count
    assert begins.begun == 2  # SQLAlchemy's own transactions (PostgreSQL: none on the server)
    counted.close()


async def test_add_event_outside_a_batch_is_one_statement_and_no_transaction(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    store = CaseStore(case_engine)
    case_id = await opened(store)
    counted = await counting(case_engine)

    assert await store.add_event(case_id, "note", {"text": "hello"}) is None
    assert await sent(counted) == (1, [])
    refused = await store.add_event("no-such-case", "note", {})
    assert refused is not None and refused.reason == "no_such_case"
    assert await sent(counted) == (1, [])
    assert [e.kind for e in await store.timeline(case_id)] == ["opened", "note"]
    counted.close()


@pytest.mark.postgres
async def test_a_write_of_several_statements_keeps_its_transaction() -> None:
    async with one_connection() as engine:
        store = CaseStore(engine)
        case_id = await opened(store)
        await store.get(case_id)  # the one connection was in autocommit for this read
        counted = RoundTrips(engine)

        assert await store.record_attempt(case_id, "chat") is None  # UPDATE, then INSERT

        assert await sent(counted) == (2, ["BEGIN", "COMMIT"])
        case = await store.get(case_id)
        assert case is not None and case.attempts == 1
        counted.close()


@pytest.mark.postgres
async def test_a_connection_given_back_from_autocommit_is_transactional_again() -> None:
    async with one_connection() as engine:
        store = CaseStore(engine)
        case_id = await opened(store)
        assert await store.get(case_id) is not None  # autocommit on the pool's one connection
        await store.add_event(case_id, "note", {"n": 1})

        with pytest.raises(RuntimeError):
            async with unit.tx(engine) as conn:
                await CaseStore.event(conn, case_id, 1, "note", "system", {"n": 2})
                raise RuntimeError("the block fails after its first statement")

        notes = [e.data for e in await store.timeline(case_id) if e.kind == "note"]
        assert notes == [{"n": 1}]  # the second note was rolled back


async def test_inside_a_batch_reads_and_single_writes_join_its_transaction(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    store = CaseStore(case_engine)
    case_id = await opened(store)
    counted = await counting(case_engine)

    async with unit.batch(case_engine):
        await store.add_event(case_id, "note", {"n": 1})
        seen = await store.timeline(case_id)  # sees the batch's write: the same transaction

    assert [e.kind for e in seen] == ["opened", "note"]
    control = ["BEGIN", "COMMIT"] if case_engine.dialect.name == "postgresql" else []
    assert await sent(counted) == (2, control)
    counted.close()


async def test_an_outbox_message_is_stored_in_one_statement_and_once(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    outbox = Outbox(case_engine, lambda: 1_000)
    counted = RoundTrips(case_engine)

    first = await outbox.add("stu-1", {"text": "hi"}, case_id="c-1", message_id="m-1")
    assert await sent(counted) == (1, [])
    again = await outbox.add("stu-1", {"text": "changed"}, case_id="c-1", message_id="m-1")
    assert await sent(counted) == (2, [])  # the insert finds it stored; then it is read

    assert again == first and first.payload == {"text": "hi"} and first.deliveries == 0
    assert [m.message_id for m in await outbox.pending("stu-1")] == ["m-1"]
    counted.close()
