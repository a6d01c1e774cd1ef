"""Queue notices on PostgreSQL: every committed queue change is heard by any process, per schema."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.store.db import make_engine, upgrade
from outreach.store.notices import Notices, supported
from tests.outreach.store.test_queue_claims import queued
from tests.support.casedb import PG_DSN, drop_schema, postgres_schema, sqlite_engine

pytestmark = pytest.mark.postgres


@contextlib.asynccontextmanager
async def pg_schema() -> AsyncIterator[str]:
    schema = await postgres_schema()
    try:
        yield schema
    finally:
        await drop_schema(schema)


@contextlib.asynccontextmanager
async def listening(engine: AsyncEngine) -> AsyncIterator[asyncio.Queue[tuple[str, str]]]:
    heard: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    notices = Notices(engine)
    task = asyncio.create_task(notices.listen({
        "queue": lambda p: heard.put_nowait(("queue", p)),
        "presence": lambda p: heard.put_nowait(("presence", p))}))
    try:
        await asyncio.wait_for(notices.listening.wait(), 10)
        yield heard
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def drain(heard: asyncio.Queue[tuple[str, str]], within_s: float = 1.0) -> set[str]:
    got: set[str] = set()
    with contextlib.suppress(TimeoutError):
        while True:
            got.add((await asyncio.wait_for(heard.get(), within_s))[1])
    return got


async def test_queue_claim_and_resolve_written_by_another_connection_are_heard() -> None:
    async with pg_schema() as schema:
        desk, writer = make_engine(PG_DSN, schema=schema), make_engine(PG_DSN, schema=schema)
        try:
            await upgrade(writer)
            async with listening(desk) as heard:
                queue, case_id = await queued(writer)
                assert (await asyncio.wait_for(heard.get(), 1.0)) == ("queue", case_id)
                await drain(heard, 0.3)
                assert await queue.claim(case_id, "ann") is None
                assert (await asyncio.wait_for(heard.get(), 1.0)) == ("queue", case_id)
                await drain(heard, 0.3)
                closed = await queue.resolve(case_id, "ann", "resolved_by_call")
                assert not hasattr(closed, "reason")
                assert await drain(heard) == {case_id}
                # a timeline event alone moves nothing in the queue: no notice
                await queue.store.add_event(case_id, "note", {"text": "x"}, actor="ann")
                assert await drain(heard, 0.5) == set()
        finally:
            await desk.dispose()
            await writer.dispose()


async def test_another_schema_in_the_same_database_is_not_heard() -> None:
    async with pg_schema() as mine, pg_schema() as theirs:
        desk, other = make_engine(PG_DSN, schema=mine), make_engine(PG_DSN, schema=theirs)
        try:
            await upgrade(desk)
            await upgrade(other)
            async with listening(desk) as heard:
                await queued(other, "lag-elsewhere")
                assert await drain(heard, 0.7) == set()
                await Notices(other).send("presence", '{"replica": "x", "agents": {}}')
                await Notices(desk).send("presence", '{"replica": "y", "agents": {}}')
                assert await asyncio.wait_for(heard.get(), 1.0) == (
                    "presence", '{"replica": "y", "agents": {}}')
        finally:
            await desk.dispose()
            await other.dispose()


async def test_a_notice_too_large_is_refused_and_sqlite_has_none(tmp_path: Path) -> None:
    async with pg_schema() as schema:
        engine = make_engine(PG_DSN, schema=schema)
        try:
            with pytest.raises(ValueError, match="over 7000 bytes"):
                await Notices(engine).send("presence", "x" * 7001)
            assert supported(engine)
        finally:
            await engine.dispose()
    lite = await sqlite_engine(tmp_path)
    try:
        assert not supported(lite)
    finally:
        await lite.dispose()
