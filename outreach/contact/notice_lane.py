"""The lane of covered families' notices: at most so many in their send step at once.

An outage covers a thousand families at once; each gets only the in-app notice, and their
chains all start together. Their send steps (announce, send, record) take turns through
this lane so that the ordinary families' chains, which never enter it, keep the connection
pool and the CPU. A chain holds its turn only while it sends, never while it waits for the
family's reply.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # the settings read the default below: no metrics library for that
    from prometheus_client import Gauge

COVERED_NOTICE_CONCURRENCY: Final = 4  # the default; the setting is the service's


class NoticeLane:
    """At most `limit` covered notices in their send step at once (`waiting`: the others)."""

    def __init__(self, limit: int, waiting: Gauge) -> None:
        if limit < 1:
            raise ValueError(f"covered_notice_concurrency must be at least 1, not {limit}")
        self.limit = limit
        self.waiting = waiting
        self.sending = 0  # notices in their send step now
        self._queued: set[str] = set()  # cases whose chain waits for its turn
        self._turns = asyncio.Semaphore(limit)

    def queued(self, case_id: str) -> bool:
        """Is the case's chain waiting for its turn (nothing of its send announced yet)?"""
        return case_id in self._queued

    def expect(self, case_id: str) -> None:
        """The case's chain is started and will wait for a turn first: queued from now."""
        self._queued.add(case_id)

    def withdraw(self, case_id: str) -> None:
        """The case's chain is over (or stopped before its turn): no longer queued."""
        self._queued.discard(case_id)

    @asynccontextmanager
    async def turn(self, case_id: str) -> AsyncIterator[None]:
        """Wait for a turn in the lane (cancelling the wait is harmless), hold it in the body."""
        self.waiting.inc()
        self._queued.add(case_id)
        try:
            await self._turns.acquire()
        finally:
            self._queued.discard(case_id)
            self.waiting.dec()
        self.sending += 1
        try:
            yield
        finally:
            self.sending -= 1
            self._turns.release()
