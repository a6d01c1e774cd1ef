"""The lane of covered families' notices: at most so many in their send step at once.

An outage covers a thousand families at once; each gets only the in-app notice, and their
chains all start together. Their send steps (announce, send, record) take turns through
this lane so that the ordinary families' chains, which never enter it, keep the connection
pool and the CPU. A chain holds its turn only while it sends, never while it waits for the
family's reply. While the service is behind with its records (`hold`, from the consumer:
a poll came back full), no notice takes a turn, for at most `max_hold_s` each: the CPU goes
to taking in the records, where the ordinary families' decisions wait, and the notices go
out once it has caught up (`resume`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # the settings read the default below: no metrics library for that
    from prometheus_client import Gauge

COVERED_NOTICE_CONCURRENCY: Final = 4  # the default; the setting is the service's
COVERED_NOTICE_MAX_HOLD_S: Final = 20.0  # the default; the setting is the service's


class NoticeLane:
    """At most `limit` covered notices in their send step at once (`waiting`: the others)."""

    def __init__(self, limit: int, waiting: Gauge,
                 max_hold_s: float = COVERED_NOTICE_MAX_HOLD_S) -> None:  # fmt: skip
        if limit < 1:
            raise ValueError(f"covered_notice_concurrency must be at least 1, not {limit}")
        self.limit = limit
        self.waiting = waiting
        self.max_hold_s = max_hold_s
        self._open = asyncio.Event()  # set: notices may take turns (the service caught up)
        self._open.set()
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

    @property
    def held(self) -> bool:
        """Are the notices held back (the service is behind with its records)?"""
        return not self._open.is_set()

    def hold(self) -> None:
        """The service is behind with its records: no notice takes a turn until `resume`."""
        self._open.clear()

    def resume(self) -> None:
        """The service has caught up: the notices take their turns again."""
        self._open.set()

    @asynccontextmanager
    async def turn(self, case_id: str) -> AsyncIterator[None]:
        """Wait for a turn in the lane (cancelling the wait is harmless), hold it in the body."""
        self.waiting.inc()
        self._queued.add(case_id)
        try:
            await self._acquire()
        finally:
            self._queued.discard(case_id)
            self.waiting.dec()
        self.sending += 1
        try:
            yield
        finally:
            self.sending -= 1
            self._turns.release()

    async def _acquire(self) -> None:
        """A turn, once the service is not behind (or the notice waited `max_hold_s` for it)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_hold_s
        while True:
            if self.held and (left := deadline - loop.time()) > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._open.wait(), left)
            await self._turns.acquire()
            if not self.held or loop.time() >= deadline:
                return
            self._turns.release()  # held meanwhile: wait again
