"""One transaction for many store calls: the batch of a poll (issue 20, point 3).

Every store call gets its connection from :func:`tx` (a write) or :func:`read`. Outside a
batch they open their own: `tx` a transaction (`engine.begin()`); on PostgreSQL `read` and
`tx(single=True)` (a write of one statement) a connection in autocommit, so the statement is
its own transaction and no BEGIN / COMMIT / ROLLBACK round trips go with it (on SQLite as
before: a transaction; its read transaction is a real snapshot). Inside
``async with batch(engine)`` every call made by the batch's own task on that engine joins
the batch's one connection and transaction, so it sees the batch's writes and takes no
second lock. Tasks spawned meanwhile inherit the context variable but are not the owner:
they use their own connections (an asyncpg connection serves one task at a time).

`tx(engine, savepoint=True)` is for the places that catch an IntegrityError and go on: in
a batch it runs in a SAVEPOINT, since on PostgreSQL an error aborts the whole transaction.
(Not on SQLite: there a failed statement is undone alone and the transaction goes on, and
the Python driver's SAVEPOINT, with no BEGIN of its own before it, would commit on RELEASE.
Those places fail on their first write, so nothing of theirs is left half-done.)
What must wait for the commit (a chain that reads the case, an outcome published) goes
to :func:`after_commit`; :func:`checkpoint` commits what the batch holds so far (before
waiting for another task that may need the rows the batch has locked).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = structlog.get_logger(__name__)
Action = Callable[[], Awaitable[None]]


@dataclass(eq=False, slots=True)
class Batch:
    """The active batch: its connection, the task that owns it, what waits for its commit."""

    engine: AsyncEngine
    conn: AsyncConnection
    owner: asyncio.Task[object] | None
    active: bool = True
    after: list[Action] = field(default_factory=list)
    then: list[Callable[[], None]] = field(default_factory=list)  # no database: after all
    keys: set[object] = field(default_factory=set)  # after-commit actions asked once
    bag: dict[str, Any] = field(default_factory=dict)  # what its users gather until the commit
    commits: int = 0  # checkpoints included

    def joins(self, engine: AsyncEngine) -> bool:
        """Does a store call on `engine`, made now, join this batch?"""
        return self.active and engine is self.engine and asyncio.current_task() is self.owner


_current: ContextVar[Batch | None] = ContextVar("firstcall_store_batch", default=None)


def current(engine: AsyncEngine) -> Batch | None:
    """The batch a store call on `engine` made now would join (None: it opens its own)."""
    found = _current.get()
    return found if found is not None and found.joins(engine) else None


_AUTOCOMMIT: weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine] = weakref.WeakKeyDictionary()


def autocommit(engine: AsyncEngine) -> AsyncEngine:
    """`engine` (its pool) with connections in autocommit on PostgreSQL; SQLite's unchanged.

    In autocommit asyncpg sends no BEGIN before a statement and no COMMIT / ROLLBACK after:
    each statement is one transaction on the server. The isolation level is set on the
    driver's connection when checked out and reset when returned, with no round trip.
    """
    if engine.dialect.name != "postgresql":
        return engine
    found = _AUTOCOMMIT.get(engine)
    if found is None:
        found = _AUTOCOMMIT[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return found


@asynccontextmanager
async def tx(
    engine: AsyncEngine, *, savepoint: bool = False, single: bool = False
) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction: the batch's (in a SAVEPOINT if asked), else a new one.

    `single`: the block sends ONE statement (never more: nothing would make two atomic).
    Outside a batch, on PostgreSQL, it then runs in autocommit: the statement is its own
    transaction, without BEGIN and COMMIT. In a batch it joins the batch as any write.
    """
    joined = current(engine)
    if joined is None and single:
        async with autocommit(engine).connect() as conn:
            yield conn
            await conn.commit()  # SQLite: its transaction; PostgreSQL: nothing is sent
    elif joined is None:
        async with engine.begin() as conn:
            yield conn
    elif savepoint and engine.dialect.name != "sqlite":
        async with joined.conn.begin_nested():
            yield joined.conn
    else:
        yield joined.conn


@asynccontextmanager
async def read(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for reading: the batch's (it sees the batch's writes), else a new one.

    Outside a batch, on PostgreSQL, in autocommit (no BEGIN / ROLLBACK round trips): each
    statement sees what was committed when it began. A read of several statements sees
    nothing different in a transaction at PostgreSQL's default READ COMMITTED, where every
    statement takes a snapshot of its own too. On SQLite a transaction, as before.
    """
    joined = current(engine)
    if joined is None:
        async with autocommit(engine).connect() as conn:
            yield conn
    else:
        yield joined.conn


async def after_commit(engine: AsyncEngine, action: Action, *, key: object = None) -> None:
    """Run `action` once the batch on `engine` has committed; now when there is none.

    With `key`: once per batch (a second action with the same key is dropped).
    """
    joined = current(engine)
    if joined is None:
        await action()
    elif key is None or key not in joined.keys:
        if key is not None:
            joined.keys.add(key)
        joined.after.append(action)


def on_commit(engine: AsyncEngine, call: Callable[[], None]) -> bool:
    """In a batch on `engine`: call `call` (no database work) once it has committed; True.

    False (and nothing done) when there is no batch: the caller goes ahead now.
    """
    joined = current(engine)
    if joined is not None:
        joined.then.append(call)
    return joined is not None


@asynccontextmanager
async def holding(engine: AsyncEngine, lock: asyncio.Lock) -> AsyncIterator[None]:
    """Hold `lock`; in a batch, whose lock's holder may wait for rows the batch has written,
    those are committed (a checkpoint) before waiting for it."""
    if lock.locked():
        await checkpoint(engine)
    async with lock:
        yield


async def checkpoint(engine: AsyncEngine) -> None:
    """Commit what the batch holds so far (and run what waited for it); the batch goes on."""
    joined = current(engine)
    if joined is None:
        return
    await _commit(joined)
    await joined.conn.begin()


async def _commit(b: Batch) -> None:
    """Commit the batch, then run the actions waiting for it, in one more transaction.

    Their writes (e.g. `outcome_published` after each publish) join that transaction, each
    action's in a SAVEPOINT on PostgreSQL; an action that fails is logged and the others go
    on (what it left undone its owner does again: unpublished outcomes are published by the
    runner's sweep, at least once). Then the calls without database work.
    """
    await b.conn.commit()
    b.commits += 1
    b.keys.clear()
    b.bag = {}
    if b.after:
        await b.conn.begin()
        try:
            while b.after:
                await _guarded(b, b.after.pop(0))
            await b.conn.commit()
        except Exception as exc:
            log.error("after_commit_not_recorded", error=repr(exc))
            await b.conn.rollback()
        b.commits += 1
    while b.then:
        b.then.pop(0)()


async def _guarded(b: Batch, action: Action) -> None:
    try:
        if b.engine.dialect.name == "sqlite":
            await action()
        else:
            async with b.conn.begin_nested():
                await action()
    except Exception as exc:
        log.error("after_commit_failed", action=repr(action), error=repr(exc))


@asynccontextmanager
async def batch(engine: AsyncEngine) -> AsyncIterator[Batch]:
    """One transaction for every store call of this task on `engine` until the block ends.

    Committed at the end, then the after-commit actions run; on an error rolled back, the
    actions dropped, and the error raised.
    """
    conn = await engine.connect()
    b = Batch(engine, conn, asyncio.current_task())
    token = _current.set(b)
    try:
        await conn.begin()
        try:
            yield b
        except BaseException:
            b.after.clear()
            b.then.clear()
            await conn.rollback()
            raise
        await _commit(b)
    finally:
        b.active = False
        _current.reset(token)
        await conn.close()
