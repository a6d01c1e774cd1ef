"""The live runner on Kafka: one consumer group over incidents and the worker's decisions.

Incidents (`support.incidents`, keyed by session) and the workers' outreach
decisions (keyed by session, on the outcomes topic) are read by one group with
the range assignor, so a session's incidents and decisions land on the same
member. Offsets are committed after a batch has been applied (a decision whose
incident has not come yet waits in the database), so a restart redelivers at most
one batch, which the runner recognises by incident id.

The records of one poll are applied in one database transaction (`outreach.store.unit`):
committed, then what leaves the process (chains started, outcomes published, pages),
then the Kafka offsets. Ordinary families' records and decisions go first and are committed
on their own when line records or covered families' follow (`apply_all`). Should the batch
fail, it is rolled back and its records are applied again one by one, each in its own
transactions (`firstcall_outreach_batches_total`
`{result="rolled_back"}`, log `outreach_batch_rolled_back`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import KafkaError

from detectors.records import Incident, Outreach
from monitor.platform.kafka_settings import KafkaSettings
from monitor.platform.logging import get_logger
from monitor.streaming.backoff import retry_forever
from monitor.streaming.bus_feed import parse_record
from outreach.contact.poll_order import ordinary_first, poll_order
from outreach.contact.runtime import CaseRuntime
from outreach.decide.policy import OutreachPolicy
from outreach.store import unit

DEFAULT_GROUP = "firstcall-outreach"
# A poll of this many records (of at most 500), or a step deciding as many: the service is
# behind (an outage's families at once), and the covered families' notices wait for it.
BEHIND_RECORDS = 100


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
    ) -> None:
        """`policy` set: decide here instead of reading the workers' decisions.

        `batched`: a poll's records in one transaction (False: each record's own, as before).
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
        self.consumer.subscribe(self.topics)
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
        """One poll: apply every record fetched (incidents first), then commit; returns count."""
        assert self.consumer is not None, "run() first"
        got = await self.consumer.getmany(timeout_ms=self.s.poll_ms, max_records=500)
        ordered = sorted(got.items(), key=lambda kv: kv[0].topic != self.s.topics.incidents)
        records = [
            record
            for _, messages in ordered
            for message in messages
            if message.value is not None and (record := parse_record(message.value)) is not None
        ]
        self.pace(len(records))
        await self.apply_all(records)
        if got:  # a decision still waiting for its incident waits in the database
            await self.consumer.commit()
        return len(records)

    def pace(self, polled: int) -> None:
        """Behind (a poll of `polled` >= BEHIND_RECORDS records, or the last step applied as
        many decisions): the covered families' notices wait and the records go first."""
        lane = self.runner.chain.lane
        if lane is None:
            return
        if polled >= BEHIND_RECORDS or self.decided_last >= BEHIND_RECORDS:
            lane.hold()
        else:
            lane.resume()

    async def apply_all(self, records: list[Incident | Outreach]) -> None:
        """A poll's records (then the decisions due): in one transaction when batched.

        The policy (deciding here) sees them in arrival order. The runner takes ordinary
        families' records and decisions first, then the line records and the covered
        families' (`outreach.contact.poll_order`); batched, what the first run did is
        committed before the second (its chains start then), so a thousand outage families
        do not hold up the problem of another classroom. A failed batch is rolled back and
        its records applied again one by one (the policy has seen them: only the runner's
        part and its decisions run again; what a first run committed is known by id).
        """
        first, later = poll_order(records, self.runner.lines)
        if not self.batched:
            for record in records:
                self._feed(record)
            await self._apply_runs(first, later, [])
            return
        paged = set(self.runner.paged)
        taken: list[Outreach] = []  # decisions taken from the policy (deciding here)
        fed = 0  # records the policy has seen
        try:
            async with unit.batch(self.runner.cases.engine):
                for record in records:
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
