"""The lane of covered families' notices: their send steps done together, one bulk send at a time.

An outage covers a thousand families at once; each gets only the in-app notice, and their
chains all start together. Each chain hands its send step to this lane and waits: the lane
takes the notices waiting at that moment (at most `limit`) and its bulk send
(`outreach.contact.notice_batch`) announces, pushes and records them all together; each chain
gets its own result and goes on alone (the family's reply, its `fallback` step). One bulk send
at a time: the next starts once this one's messages are pushed (the apps' acks are waited for
meanwhile), so the ordinary families' chains, which never enter the lane, keep the connection
pool and the CPU. While the service is behind with its records (`hold`, from the consumer: a
poll came back full), no notice goes, for at most `max_hold_s` each: the CPU goes to taking in
the records, where the ordinary families' decisions wait, and the notices go out once it has
caught up (`resume`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from detectors.records import Outreach
from outreach.channels.base import SendResult

if TYPE_CHECKING:  # the settings read the default below: no metrics library for that
    from prometheus_client import Gauge

COVERED_NOTICE_CONCURRENCY: Final = 200  # the default; the setting is the service's
COVERED_NOTICE_MAX_HOLD_S: Final = 20.0  # the default; the setting is the service's
Sent = tuple[str, SendResult]  # a send step's result: the message id and what the channel did
# The bulk send step: (case id, decision) of each notice, a call once the messages are pushed
# -> each case's result (None, or absent: the case may not be contacted).
BulkSend = Callable[[Sequence[tuple[str, Outreach]], Callable[[], None]],
                    Awaitable[Mapping[str, Sent | None]]]


@dataclass(eq=False, slots=True)
class _Notice:
    """One chain's send step, waiting in the lane (`taken`: in a bulk send now)."""

    case_id: str
    decision: Outreach
    since: float
    result: asyncio.Future[Sent | None]
    taken: bool = False


class NoticeLane:
    """Covered notices sent in bulk, at most `limit` a time (`waiting`: those not taken yet)."""

    def __init__(self, limit: int, waiting: Gauge, max_hold_s: float = COVERED_NOTICE_MAX_HOLD_S,
                 send: BulkSend | None = None) -> None:  # fmt: skip
        if limit < 1:
            raise ValueError(f"covered_notice_concurrency must be at least 1, not {limit}")
        self.limit = limit
        self.waiting = waiting
        self.max_hold_s = max_hold_s
        self.bulk = send
        self.sending = 0  # notices in a bulk send now
        self._open = True  # notices may go (the service caught up)
        self._changed = asyncio.Event()  # a notice came or went, or the lane was resumed
        self._pending: list[_Notice] = []  # oldest first
        self._queued: set[str] = set()  # cases whose chain waits for its turn
        self._worker: asyncio.Task[None] | None = None
        self._batches: set[asyncio.Task[None]] = set()

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
        return not self._open

    def hold(self) -> None:
        """The service is behind with its records: no notice goes until `resume`."""
        self._open = False

    def resume(self) -> None:
        """The service has caught up: the notices go again."""
        self._open = True
        self._changed.set()

    async def send(self, case_id: str, decision: Outreach) -> Sent | None:
        """The case's send step, done in the next bulk send (cancelling the wait before it is
        taken is harmless: nothing of it was announced)."""
        assert self.bulk is not None, "a lane that sends needs its bulk send step"
        loop = asyncio.get_running_loop()
        notice = _Notice(case_id, decision, loop.time(), loop.create_future())
        self._pending.append(notice)
        self._queued.add(case_id)
        self.waiting.inc()
        self._changed.set()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work())
        try:
            return await notice.result
        finally:
            if not notice.taken:
                self._pending.remove(notice)
                self._queued.discard(case_id)
                self.waiting.dec()
                self._changed.set()

    async def aclose(self) -> None:
        """Stop taking notices and cancel the bulk sends in flight (a shutdown)."""
        tasks = [t for t in (self._worker, *self._batches) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _work(self) -> None:
        """Take the waiting notices, a bulk send at a time, until none waits."""
        while self._pending:
            due = await self._due()
            for notice in due:
                notice.taken = True
                self._pending.remove(notice)
                self._queued.discard(notice.case_id)
                self.waiting.dec()
            if not due:
                continue
            pushed = asyncio.Event()
            batch = asyncio.create_task(self._run(due, pushed))
            self._batches.add(batch)
            batch.add_done_callback(self._batches.discard)
            await pushed.wait()

    async def _due(self) -> list[_Notice]:
        """The notices to send now: the oldest `limit`, once the service is not behind (or,
        while it is, those that have waited `max_hold_s`); [] when none waits any more."""
        loop = asyncio.get_running_loop()
        while self._pending:
            self._changed.clear()
            live = [n for n in self._pending if not n.result.done()]  # not cancelled
            now = loop.time()
            late = [n for n in live if n.since + self.max_hold_s <= now]
            if (live and not self.held) or late:
                return (late if self.held else live)[:self.limit]
            left = live[0].since + self.max_hold_s - now if live else None
            with contextlib.suppress(TimeoutError):  # a notice came or went, resumed, or late
                await asyncio.wait_for(self._changed.wait(), left)
        return []

    async def _run(self, due: Sequence[_Notice], pushed: asyncio.Event) -> None:
        """One bulk send; each chain gets its result (or the send's error)."""
        assert self.bulk is not None
        self.sending += len(due)
        try:
            results = await self.bulk([(n.case_id, n.decision) for n in due], pushed.set)
        except Exception as exc:
            for n in due:
                if not n.result.done():
                    n.result.set_exception(exc)
            return
        except asyncio.CancelledError:
            for n in due:
                n.result.cancel()
            raise
        finally:
            self.sending -= len(due)
            pushed.set()
        for n in due:
            if not n.result.done():
                n.result.set_result(results.get(n.case_id))
