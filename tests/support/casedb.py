"""Case-database fixtures: a migrated SQLite file, or a fresh PostgreSQL schema per test; a
transaction counter."""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.store.db import make_engine, upgrade
from tests.support.services import service_missing

PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"


async def sqlite_engine(tmp_path: Path) -> AsyncEngine:
    """A migrated SQLite database in `tmp_path`."""
    engine = make_engine(str(tmp_path / "cases.db"))
    await upgrade(engine)
    return engine


async def postgres_schema() -> str:
    """A fresh, empty schema in the `test` database (skip/fail when PostgreSQL is absent)."""
    schema = f"fc_test_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncpg.connect(PG_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        service_missing("PostgreSQL", f"{PG_DSN}: {exc}")
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    return schema


async def drop_schema(schema: str) -> None:
    """Remove a schema made by :func:`postgres_schema`."""
    conn = await asyncpg.connect(PG_DSN, timeout=3)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@asynccontextmanager
async def postgres_engines(n: int, *, migrated: bool = True) -> AsyncIterator[list[AsyncEngine]]:
    """`n` engines (replicas) on one fresh PostgreSQL schema, migrated by the first unless
    `migrated` is False; disposed and the schema dropped after."""
    schema = await postgres_schema()
    engines = [make_engine(PG_DSN, schema=schema) for _ in range(n)]
    try:
        if migrated:
            await upgrade(engines[0])
        yield engines
    finally:
        for engine in engines:
            await engine.dispose()
        await drop_schema(schema)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def case_engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated case database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        engine = await sqlite_engine(tmp_path)
        yield engine
        await engine.dispose()
        return
    async with postgres_engines(1) as (engine,):
        yield engine


class Begins:
    """Counts transactions begun and committed on an engine (a SQLAlchemy event listener)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.begun = self.committed = 0
        sa.event.listen(engine.sync_engine, "begin", self._begin)
        sa.event.listen(engine.sync_engine, "commit", self._commit)

    def _begin(self, _conn: object) -> None:
        self.begun += 1

    def _commit(self, _conn: object) -> None:
        self.committed += 1


class Statements:
    """Counts the SQL statements sent on an engine, by their first words (a SQLAlchemy event
    listener): the database round trips a piece of work costs."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sent: list[str] = []
        sa.event.listen(engine.sync_engine, "before_cursor_execute", self._sent)

    def _sent(self, _conn: object, _cursor: object, statement: str, *_: object) -> None:
        self.sent.append(" ".join(statement.split()[:4]))

    @property
    def count(self) -> int:
        """Statements sent since made (or since `reset`)."""
        return len(self.sent)

    def reset(self) -> None:
        """Start counting again from zero."""
        self.sent.clear()

    def by_kind(self) -> dict[str, int]:
        """How many of each statement (first words), most first: where the round trips go."""
        out: dict[str, int] = {}
        for s in self.sent:
            out[s] = out.get(s, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def close(self) -> None:
        """Stop counting."""
        sa.event.remove(self.engine.sync_engine, "before_cursor_execute", self._sent)


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK")


class RoundTrips(Statements):
    """What an engine sends to the database server: its statements (as :class:`Statements`),
    the prepares among them, and on PostgreSQL the BEGIN / COMMIT / ROLLBACK that asyncpg
    sends itself (they pass no SQLAlchemy cursor event: counted by an asyncpg query logger on
    every connection checked out), and the connections opened.

    A prepare is a statement sent on a connection whose prepared statement cache (the
    dialect's, per connection) does not hold it yet: asyncpg prepares it first, one more
    round trip. asyncpg calls its query loggers soon, not at once: read `control` after
    :meth:`settle`.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.control: list[str] = []
        self.prepares = self.connects = 0
        self._watched: weakref.WeakSet[Any] = weakref.WeakSet()
        sa.event.listen(engine.sync_engine, "checkout", self._checked_out)
        sa.event.listen(engine.sync_engine, "connect", self._connected)

    def _sent(self, conn: object, cursor: object, statement: str, *rest: object) -> None:
        super()._sent(conn, cursor, statement, *rest)
        adapted = getattr(cursor, "_adapt_connection", None)  # asyncpg's adapter (private)
        if hasattr(adapted, "_prepared_statement_cache"):  # asyncpg: prepares before executing
            cache = adapted._prepared_statement_cache  # type: ignore[union-attr]
            if cache is None or statement not in cache:
                self.prepares += 1

    def _connected(self, _dbapi_conn: object, _record: object) -> None:
        self.connects += 1

    def _checked_out(self, dbapi_conn: Any, _record: object, _proxy: object) -> None:
        driver = getattr(dbapi_conn, "_connection", None)
        if driver is not None and hasattr(driver, "add_query_logger"):
            driver.add_query_logger(self._logged)  # a set: once per connection
            self._watched.add(driver)

    def _logged(self, record: Any) -> None:
        words = str(record.query).split()
        if words and words[0].rstrip(";").upper() in TRANSACTION_CONTROL:
            self.control.append(words[0].rstrip(";").upper())

    async def settle(self) -> None:
        """Let asyncpg's pending query-logger calls run (they are scheduled, not immediate)."""
        for _ in range(3):
            await asyncio.sleep(0)

    @property
    def total(self) -> int:
        """Round trips to the server: statements, their prepares, transaction control."""
        return self.count + self.prepares + len(self.control)

    def reset(self) -> None:
        """Start counting again from zero."""
        super().reset()
        self.control.clear()
        self.prepares = self.connects = 0

    def summary(self) -> dict[str, int]:
        """The counts by kind (for printing)."""
        out = {"statements": self.count, "prepares": self.prepares, "connects": self.connects}
        for word in TRANSACTION_CONTROL:
            out[word] = self.control.count(word)
        return out

    def close(self) -> None:
        """Stop counting."""
        super().close()
        sa.event.remove(self.engine.sync_engine, "checkout", self._checked_out)
        sa.event.remove(self.engine.sync_engine, "connect", self._connected)
        for driver in list(self._watched):
            driver.remove_query_logger(self._logged)
