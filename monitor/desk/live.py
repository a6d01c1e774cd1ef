"""Telemetry to the console in one process: pipeline + telemetry ring + desk, one clock.

The demo feeds it from the in-process bus; the browser tests feed it scripted
telemetry and move its clock by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Record
from monitor.desk.desk import Desk, PhoneLookup
from monitor.desk.ring import TeacherLookup, TelemetryRing
from monitor.streaming.assembly import Pipeline
from outreach.channels.base import Channel
from outreach.decide.decision import PolicyConfig
from outreach.store.cases import CaseStore
from outreach.store.queue import QueueStore

log = structlog.get_logger(__name__)


class SimClock:
    """Milliseconds that move only when told (event time of the stream, or a test's hand)."""

    def __init__(self, start: int) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now

    def move_to(self, ms: int) -> None:
        """Move forward to `ms` (never back)."""
        if ms > self.now:
            self.now = ms


@dataclass
class LiveOptions:
    """Knobs of the live desk."""

    escalate_after_ms: int = 30_000
    recovered_grace_ms: int = 120_000
    policy: PolicyConfig | None = None
    call_channel: Channel | None = None
    phone_of: PhoneLookup | None = None
    teacher_of: TeacherLookup | None = None


class LiveDesk:
    """Raw telemetry in; cases, queue entries and live views out."""

    def __init__(self, engine: AsyncEngine, clock: SimClock, options: LiveOptions | None = None,
                 on_record: Callable[[Record], None] | None = None) -> None:
        opts = options or LiveOptions()
        self.clock = clock
        self.ring = TelemetryRing(teacher_of=opts.teacher_of)
        store = CaseStore(engine, clock)
        self.desk = Desk(store, QueueStore(engine, store, clock), self.ring, clock,
                         call_channel=opts.call_channel, phone_of=opts.phone_of,
                         escalate_after_ms=opts.escalate_after_ms,
                         recovered_grace_ms=opts.recovered_grace_ms)
        self._pending: list[Record] = []
        self.pipeline = Pipeline(self._pending.append, policy=opts.policy)
        self.on_record = on_record

    async def feed(self, raws: Iterable[bytes]) -> None:
        """Process a batch of raw telemetry records."""
        batch = list(raws)
        self.ring.feed_raw(batch)
        self.pipeline.feed_raw(batch)
        await self._flush()

    async def advance(self, now_ms: int) -> None:
        """Move time to `now_ms`: timers fire, decisions due are made, escalations run."""
        self.clock.move_to(now_ms)
        self.pipeline.tick(now_ms)
        await self._flush()
        await self.desk.tick()

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending[:] = list(self._pending), []
            for r in batch:
                if self.on_record is not None:
                    self.on_record(r)
                try:
                    await self.desk.apply(r)
                except Exception:  # one bad record must not stop the live desk
                    log.exception("desk_apply_failed", incident_id=r.incident_id)
