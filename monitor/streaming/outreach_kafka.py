"""The live runner on Kafka: one consumer group over incidents and the worker's decisions.

Incidents (`support.incidents`, keyed by session) and the workers' outreach
decisions (keyed by session, on the outcomes topic) are read by one group with
the range assignor, so a session's incidents and decisions land on the same
member. Offsets are committed after a batch has been applied (a decision whose
incident has not come yet waits in the database), so a restart redelivers at most
one batch, which the runner recognises by incident id.

The records of one poll are applied in one database transaction (`outreach.store.unit`):
committed, then what leaves the process (chains started, outcomes published, pages),
then the Kafka offsets. Ordinary families' records and decisions go first; a poll's line
records and covered families' records wait in the covered backlog
(`monitor.streaming.covered_backlog`) and are taken in a chunk at a time between polls, so
an outage's thousand families never hold up a family polled after them; a partition's
offset is committed only up to its oldest record still waiting there. Should the batch
fail, it is rolled back and its records are applied again one by one, each in its own
transactions (`firstcall_outreach_batches_total`
`{result="rolled_back"}`, log `outreach_batch_rolled_back`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Collection

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import KafkaError

from detectors.records import Incident, Outreach
from monitor.platform.kafka_settings import KafkaSettings
from monitor.platform.logging import get_logger
from monitor.streaming.backoff import retry_forever
from monitor.streaming.bus_feed import parse_record
from monitor.streaming.covered_backlog import CoveredBacklog, Polled, commit_offsets
from outreach.contact.line_surge import LineSurge
from outreach.contact.poll_order import covered, family_of, note_lines, ordinary_first, poll_order
from outreach.contact.runtime import CaseRuntime
from outreach.decide.policy import OutreachPolicy
from outreach.store import unit

DEFAULT_GROUP = "firstcall-outreach"
# A poll of this many records (of at most 500), or a step deciding as many: the service is
# behind (an outage's families at once), and the covered families' notices wait for it.
BEHIND_RECORDS = 100
# The covered backlog is taken in chunks of this many records, for at least one chunk and
# at most this long per step before polling again (what an ordinary family may wait).
BACKLOG_CHUNK = 25
BACKLOG_BUDGET_S = 0.2


class KafkaOutreach:
    """Feeds a :class:`CaseRuntime` from Kafka until stopped."""

    def __init__(
        self,
        settings: KafkaSettings,
        runner: CaseRuntime,
        *,
        group: str = DEFAULT_GROUP,
        policy: OutreachPolicy | None = None,
        wall_ms: Callable[[], int] | None = None,
        batched: bool = True,
        backlog_chunk: int = BACKLOG_CHUNK,
        backlog_budget_s: float = BACKLOG_BUDGET_S,
        surge: LineSurge | None = None,
    ) -> None:
        """`policy` set: decide here instead of reading the workers' decisions.

        `batched`: a poll's records in one transaction (False: each record's own, as before).
        `backlog_chunk`, `backlog_budget_s`: how the covered backlog is taken in per step.
        `surge`: which records of a line's sudden burst of problems wait in the backlog too
        (an outage before its verdict; `outreach.contact.line_surge`); default: its defaults.
        """
        self.s = settings
        self.batched = batched
        self.decided_last = 0  # decisions the last step applied (deciding here)
        self.runner = runner
        self.policy = policy  # deciding here instead of consuming the workers' decisions
        self.wall_ms = wall_ms or runner.wall
        self.log = get_logger("outreach", group=group)
        self._decided: list[Outreach] = []
        if policy is not None:
            policy.on_outreach = self._decided.append
        topics = [settings.topics.incidents]
        if policy is None:
            topics.append(settings.topics.outcomes)
        self.topics = topics
        self.group = group
        self.consumer: AIOKafkaConsumer | None = None
        self.ready = False
        self.backlog: CoveredBacklog[TopicPartition] = CoveredBacklog()
        self.backlog_chunk, self.backlog_budget_s = max(1, backlog_chunk), backlog_budget_s
        self.surge = surge if surge is not None else LineSurge()
        self._polled_to: dict[TopicPartition, int] = {}  # each partition's next offset to read
        self._committed: dict[TopicPartition, int] = {}

    def _consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self.s.bootstrap,
            group_id=self.group,
            client_id=self.s.client_id + "-outreach",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            partition_assignment_strategy=(RangePartitionAssignor,),
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Consume, apply and commit until `stop` is set."""
        self.consumer = self._consumer()
        await retry_forever(
            self.consumer.start, retry_on=(KafkaError, OSError), on_error=self._connect_failed
        )
        self.consumer.subscribe(self.topics, listener=_Reassigned(self))
        self.ready = True
        self.log.info("outreach_consuming", topics=self.topics)
        try:
            while not stop.is_set():
                try:
                    await self.step()
                except KafkaError as exc:
                    self.log.warning("outreach_consume_failed", error=repr(exc))
                    await asyncio.sleep(1.0)
        finally:
            self.ready = False
            with contextlib.suppress(KafkaError, TimeoutError):
                await asyncio.wait_for(self.consumer.stop(), 15)

    def _connect_failed(self, exc: BaseException, attempt: int, delay: float) -> None:
        self.log.warning(
            "broker_connect_failed", error=repr(exc), attempt=attempt, retry_in_s=round(delay, 2)
        )

    async def step(self) -> int:
        """One poll: its ordinary families applied at once, its line records and covered
        families' put in the backlog; then a little of the backlog; then the offsets."""
        assert self.consumer is not None, "run() first"
        wait_ms = 0 if self.backlog else self.s.poll_ms
        got = await self.consumer.getmany(timeout_ms=wait_ms, max_records=500)
        ordered = sorted(got.items(), key=lambda kv: kv[0].topic != self.s.topics.incidents)
        polled = [
            Polled(tp, message.offset, record)
            for tp, messages in ordered
            for message in messages
            if message.value is not None and (record := parse_record(message.value)) is not None
        ]
        for tp, messages in got.items():
            if messages:
                self._polled_to[tp] = messages[-1].offset + 1
        self.pace(len(polled))
        for p in polled:
            self._feed(p.record)  # the policy sees every record as polled, in arrival order
        now, later = self.put_aside(polled)
        if now or self.policy is not None:  # (deciding here: the decisions due, every step)
            await self.apply_all([p.record for p in now], feed=False)
        self.backlog.add(later)
        await self.work_backlog()
        self.runner.metrics.backlog.set(len(self.backlog))
        await self._commit()
        return len(polled)

    def put_aside(self, polled: list[Polled[TopicPartition]]) -> tuple[
            list[Polled[TopicPartition]], list[Polled[TopicPartition]]]:  # fmt: skip
        """The poll's ordinary families' records, and those for the backlog: line records,
        covered families', a line's burst of new problems before its verdict (a surge), and
        those of families whose records wait there already (each counted by its reason)."""
        lines = self.runner.lines
        records = [p.record for p in polled]
        note_lines(records, lines)  # known before anything is taken in
        self.surge.note(records)
        held: dict[str, str] = {}  # family -> why its records wait
        for r in records:
            family = family_of(r)
            if family in held:
                continue
            why = self._why_aside(r)
            if why is not None:
                held[family] = why
        now = [p for p in polled if family_of(p.record) not in held]
        later = [p for p in polled if family_of(p.record) in held]
        for p in later:
            self.runner.metrics.put_aside.labels(held[family_of(p.record)]).inc()
        return now, later

    def _why_aside(self, record: Incident | Outreach) -> str | None:
        """Why this record's family waits in the backlog (None: it does not)."""
        if isinstance(record, Incident) and record.kind == "line":
            return "line"
        if covered(record, self.runner.lines):
            return "covered"
        if self.backlog.holds(record):
            return "family_waiting"
        if self.surge.surging(record):
            return "surge"
        return None

    async def work_backlog(self) -> int:
        """Take in the backlog a chunk at a time, for at most `backlog_budget_s` (at least one
        chunk); how many records were taken in."""
        done, deadline = 0, time.monotonic() + self.backlog_budget_s
        while self.backlog:
            chunk = self.backlog.take(self.backlog_chunk)
            await self.apply_all([p.record for p in chunk], feed=False)
            done += len(chunk)
            if time.monotonic() >= deadline:
                break
        return done

    def reassigned(self, partitions: Collection[TopicPartition]) -> None:
        """After a rebalance: forget the partitions given away (their records go to their
        new owner from the committed offset)."""
        dropped = self.backlog.keep_only(partitions)
        self._polled_to = {tp: n for tp, n in self._polled_to.items() if tp in partitions}
        self._committed = {}
        if dropped:
            self.log.info("outreach_backlog_given_away", records=dropped)

    async def _commit(self) -> None:
        """Commit each partition's offset, held back to its oldest record in the backlog."""
        assert self.consumer is not None
        offsets = commit_offsets(self._polled_to, self.backlog.oldest(),
                                 self.consumer.assignment())  # fmt: skip
        if offsets and offsets != self._committed:
            await self.consumer.commit(dict(offsets))
            self._committed = offsets

    def pace(self, polled: int) -> None:
        """Behind (a poll of `polled` >= BEHIND_RECORDS records, the last step applied as
        many decisions, or as many wait in the backlog): the covered families' notices wait
        and the records go first."""
        lane = self.runner.chain.lane
        if lane is None:
            return
        behind = max(polled, self.decided_last, len(self.backlog))
        if behind >= BEHIND_RECORDS:
            lane.hold()
        else:
            lane.resume()

    async def apply_all(self, records: list[Incident | Outreach], *, feed: bool = True) -> None:
        """A poll's records (then the decisions due): in one transaction when batched.

        The policy (deciding here) sees them in arrival order. The runner takes ordinary
        families' records and decisions first, then the line records and the covered
        families' (`outreach.contact.poll_order`); batched, what the first run did is
        committed before the second (its chains start then), so a thousand outage families
        do not hold up the problem of another classroom. A failed batch is rolled back and
        its records applied again one by one (the policy has seen them: only the runner's
        part and its decisions run again; what a first run committed is known by id).
        `feed` False: the policy has seen the records already (as they were polled).
        """
        first, later = poll_order(records, self.runner.lines)
        if not self.batched:
            for record in records if feed else ():
                self._feed(record)
            await self._apply_runs(first, later, [])
            return
        paged = set(self.runner.paged)
        taken: list[Outreach] = []  # decisions taken from the policy (deciding here)
        fed = 0 if feed else len(records)  # records the policy has seen
        try:
            async with unit.batch(self.runner.cases.engine):
                for record in records[fed:]:
                    self._feed(record)
                    fed += 1
                await self._apply_runs(first, later, taken, checkpoint=True)
        except Exception as exc:
            self.runner.metrics.batches.labels("rolled_back").inc()
            self.log.warning("outreach_batch_rolled_back", records=len(records), error=repr(exc))
            await self.runner.rolled_back(paged)
            for record in records[fed:]:
                self._feed(record)
            for record in first + later:
                await self._hand(record)
            await self._apply_decided(taken + self._take_decided())
            return
        self.runner.metrics.batches.labels("committed").inc()

    async def _apply_runs(
        self, first: list[Incident | Outreach], later: list[Incident | Outreach],
        taken: list[Outreach], *, checkpoint: bool = False,
    ) -> None:
        """The ordinary run (records, then the ordinary decisions due), then the rest; with
        `checkpoint`, the first run is committed before the second when both have work."""
        for record in first:
            await self._hand(record)
        decided = self._take_decided()
        taken += decided
        now, held = ordinary_first(decided, self.runner.lines)
        await self._apply_decided(now)
        if checkpoint and (first or now) and (later or held):
            await unit.checkpoint(self.runner.cases.engine)
        for record in later:
            await self._hand(record)
        rest = self._take_decided()
        taken += rest
        await self._apply_decided(held + rest)
        self.decided_last = len(taken)

    async def apply(self, record: Incident | Outreach) -> None:
        """One record: to the runner, and (deciding here) to the policy."""
        await self._hand(record)
        self._feed(record)

    async def _hand(self, record: Incident | Outreach) -> None:
        """The runner's part of a record (deciding here, decisions read are not the runner's)."""
        if self.policy is None or isinstance(record, Incident):
            await self.runner.handle(record)

    def _feed(self, record: Incident | Outreach) -> None:
        """The policy's part of a record (deciding here): its clock, then the incident."""
        if self.policy is not None and isinstance(record, Incident):
            self.policy.advance(record.detected_at - 1)
            self.policy.on_incident(record)

    async def decide_due(self) -> None:
        """Deciding here: run the hold-off on the wall clock and apply what it decided."""
        await self._apply_decided(self._take_decided())

    def _take_decided(self) -> list[Outreach]:
        """Deciding here: run the hold-off on the wall clock; what it decided (taken)."""
        if self.policy is None:
            return []
        now = self.runner.event_now
        if self.s.clock == "wall":
            now = max(now, self.wall_ms() - 5_000)
        self.policy.advance(now)
        decided, self._decided[:] = list(self._decided), []
        return decided

    async def _apply_decided(self, decided: list[Outreach]) -> None:
        """The decisions taken, ordinary families' first (then the covered ones', as taken)."""
        now, held = ordinary_first(decided, self.runner.lines)
        for decision in now + held:
            await self.runner.handle(decision)


class _Reassigned(ConsumerRebalanceListener):  # type: ignore[misc]
    """Tells the feed which partitions are its own after a rebalance."""

    def __init__(self, feed: KafkaOutreach) -> None:
        self.feed = feed

    async def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        """Nothing to do before: what was applied is committed after each step."""

    async def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        """Keep only the backlog of the partitions still ours."""
        self.feed.reassigned(assigned)
