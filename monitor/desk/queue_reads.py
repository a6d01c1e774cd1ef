"""What GET /api/queue reads from the database, read once for all consoles until it changes.

The queue's rows, each family's last helper and who holds how many cases change only
when a queue entry or a case's owner or state moves, and every such change is notified
(in process, or on PostgreSQL by LISTEN/NOTIFY from any process). So the reads are
kept until the hub's change count (`version`) moves, or `max_age_s` passes (a
safety net), and requests arriving while a read runs share it. Where notices cannot be
trusted (SQLite, or the listener not connected) `max_age_s` is 0: only sharing.
The parts that depend on the clock (waits, service level, ranks) are computed per
request from these reads.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from outreach.store.queue import QueueRow, QueueStore


@dataclass(frozen=True, slots=True)
class QueueReads:
    """One read of the queue's database state."""

    rows: list[QueueRow]
    helpers: dict[str, str]  # student -> the agent who last claimed one of their cases
    holding: dict[str, int]  # agent -> open cases held


async def read_queue(queue: QueueStore) -> QueueReads:
    """Read the queue, the families' last helpers and the agents' holdings."""
    rows = await queue.rows()
    helpers = await queue.last_helpers(sorted({r.student_id for r in rows if r.student_id}))
    return QueueReads(rows, helpers, await queue.holding())


class QueueReadCache:
    """`read_queue` shared by concurrent requests and kept while nothing changed."""

    def __init__(self, read: Callable[[], Awaitable[QueueReads]],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.read = read
        self.clock = clock
        self._task: asyncio.Future[QueueReads] | None = None
        self._version = -1
        self._at = 0.0
        self.reads = 0  # database reads made (for tests and the benchmark)

    async def get(self, version: int, max_age_s: float) -> QueueReads:
        """The reads begun at `version` (within `max_age_s`, or still running), else new ones."""
        task = self._task
        fresh = task is not None and self._version == version and (
            not task.done() or self.clock() - self._at < max_age_s)
        if not fresh or (task is not None and task.done() and task.exception() is not None):
            self._task = task = asyncio.ensure_future(self.read())
            self._version, self._at = version, self.clock()
            self.reads += 1
        assert task is not None
        return await asyncio.shield(task)
