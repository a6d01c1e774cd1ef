"""Telemetry to the console in one process: pipeline, the case runtime and the desk, one clock.

The pipeline (detectors + policy) turns telemetry into incident and outreach records;
each record goes to the production case runtime (`outreach.contact.runtime.CaseRuntime`: cases,
the chat -> call -> SMS -> queue chain, outcomes) and then to the desk's live views,
which keep the session's telemetry with the case. The demo sends the records over its
in-process bus (`publish`, then `monitor.streaming.bus_feed.run_bus(live, ...)`); the browser
tests hand them over at once and move the clock by hand.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident, Outreach, Record
from monitor.desk.desk import Desk
from monitor.desk.ring import TeacherLookup, TelemetryRing
from monitor.streaming.assembly import Pipeline
from monitor.streaming.bus_feed import ListOutcomeSink
from outreach.channels.base import Channel
from outreach.contact.agent_call import AgentCalls
from outreach.contact.metrics import OutreachMetrics
from outreach.contact.outcome_sink import OutcomeSink
from outreach.contact.runtime import CaseRuntime, Pager, RuntimeConfig
from outreach.decide.case import Case
from outreach.decide.decision import ChannelName, PolicyConfig
from outreach.store.cases import CaseStore
from outreach.store.directory import DirectoryStore
from outreach.store.queue import QueueStore

log = structlog.get_logger(__name__)
Publish = Callable[[Record], Awaitable[None]]


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
    """What the runtime runs with: policy, channels (filled in as they start), waits, sinks."""

    policy: PolicyConfig | None = None
    channels: dict[ChannelName, Channel] = field(default_factory=dict)
    live: RuntimeConfig = field(default_factory=RuntimeConfig)
    sink: OutcomeSink = field(default_factory=ListOutcomeSink)
    pager: Pager | None = None
    metrics: OutreachMetrics | None = None
    teacher_of: TeacherLookup | None = None


class NoticedQueue:
    """The agent queue as the runtime uses it, telling the consoles when it changes."""

    def __init__(self, queue: QueueStore, desk: Desk) -> None:
        self.queue = queue
        self.desk = desk

    async def enqueue(self, case: Case, reason: str, *, at: int | None = None) -> bool:
        """Queue the case and tell the consoles."""
        done = await self.queue.enqueue(case, reason, at=at)
        self.desk.notify("queue")
        self.desk.notify(f"case:{case.case_id}")
        return done

    async def drop(self, case_id: str, *, at: int | None = None) -> None:
        """Take the case out of the queue and tell the consoles."""
        await self.queue.drop(case_id, at=at)
        self.desk.notify("queue")

    async def drop_many(self, case_ids: list[str], *, at: int | None = None) -> None:
        """Take these cases out of the queue and tell the consoles (once)."""
        await self.queue.drop_many(case_ids, at=at)
        self.desk.notify("queue")

    async def lesson_end(self, case_id: str) -> int | None:
        """The scheduled end of the case's lesson (saved by the desk)."""
        return await self.queue.lesson_end(case_id)

    async def lesson_ends(self, case_ids: list[str]) -> dict[str, int]:
        """The scheduled end of each case's lesson (saved by the desk)."""
        return await self.queue.lesson_ends(case_ids)

    async def device(self, case_id: str) -> str | None:
        """The family's device in the case's session (saved by the desk)."""
        return await self.queue.device(case_id)

    async def conn(self, case_id: str) -> str | None:
        """The session's connection type (saved by the desk)."""
        return await self.queue.conn(case_id)

    async def context(self, case_id: str) -> tuple[str | None, str | None]:
        """The device and connection type in one look-up (saved by the desk)."""
        return await self.queue.context(case_id)


class LiveDesk:
    """Raw telemetry in; cases (by the runtime), queue entries and live views out."""

    def __init__(self, engine: AsyncEngine, clock: SimClock, options: LiveOptions | None = None,
                 publish: Publish | None = None) -> None:
        opts = options or LiveOptions()
        self.clock = clock
        self.ring = TelemetryRing(teacher_of=opts.teacher_of)
        store = CaseStore(engine, clock)
        queue = QueueStore(engine, store, clock)
        self.channels = opts.channels
        self.desk = Desk(store, queue, self.ring, clock)
        self.runtime = CaseRuntime(
            store, DirectoryStore(engine, clock), self.channels, opts.sink, policy=opts.policy,
            config=opts.live, metrics=opts.metrics, pager=opts.pager,
            queue=NoticedQueue(queue, self.desk), wall=clock)
        self.desk.after_children_closed = self.runtime.publish_pending
        self.desk.calls = AgentCalls(store, self.runtime.directory, self.channels, queue.device,
                                     conn_of=queue.conn)
        self._pending: list[Record] = []
        self.pipeline = Pipeline(self._pending.append, policy=opts.policy)
        self.publish = publish

    async def feed(self, raws: Iterable[bytes]) -> None:
        """Process a batch of raw telemetry records."""
        batch = list(raws)
        self.ring.feed_raw(batch)
        self.pipeline.feed_raw(batch)
        await self._flush()

    async def advance(self, now_ms: int) -> None:
        """Move time to `now_ms`: timers fire, decisions due are made."""
        self.clock.move_to(now_ms)
        self.pipeline.tick(now_ms)
        await self._flush()

    async def finish(self) -> None:
        """End of input (a replayed day): the pipeline closes what is still open."""
        self.pipeline.finish()
        await self._flush()

    async def handle(self, record: Incident | Outreach) -> None:
        """One record: the runtime first (it opens the case), then the desk's views."""
        try:
            await self.runtime.handle(record)
            await self.desk.apply(record)
        except Exception:  # one bad record must not stop the live desk
            log.exception("live_record_failed", incident_id=record.incident_id)

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending[:] = list(self._pending), []
            for r in batch:
                if self.publish is not None:
                    await self.publish(r)
                else:
                    await self.handle(r)
