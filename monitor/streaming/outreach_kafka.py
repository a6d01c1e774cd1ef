"""The live runner on Kafka: one consumer group over incidents and the worker's decisions.

Incidents (`support.incidents`, keyed by session) and the workers' outreach
decisions (keyed by session, on the outcomes topic) are read by one group with
the range assignor, so a session's incidents and decisions land on the same
member. Offsets are committed after a batch has been applied (a decision whose
incident has not come yet waits in the database), so a restart redelivers at most
one batch, which the runner recognises by incident id.
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
from outreach.contact.runtime import CaseRuntime
from outreach.decide.policy import OutreachPolicy

DEFAULT_GROUP = "firstcall-outreach"


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
    ) -> None:
        """`policy` set: decide here instead of reading the workers' decisions."""
        self.s = settings
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
        count = 0
        for _, messages in ordered:
            for message in messages:
                record = parse_record(message.value) if message.value is not None else None
                if record is not None:
                    await self.apply(record)
                    count += 1
        await self.decide_due()
        if got:  # a decision still waiting for its incident waits in the database
            await self.consumer.commit()
        return count

    async def apply(self, record: Incident | Outreach) -> None:
        """One record: to the runner, and (deciding here) to the policy."""
        if self.policy is None:
            await self.runner.handle(record)
            return
        if isinstance(record, Incident):
            await self.runner.handle(record)
            self.policy.advance(record.detected_at - 1)
            self.policy.on_incident(record)

    async def decide_due(self) -> None:
        """Deciding here: run the hold-off on the wall clock and apply what it decided."""
        if self.policy is None:
            return
        now = self.runner.event_now
        if self.s.clock == "wall":
            now = max(now, self.wall_ms() - 5_000)
        self.policy.advance(now)
        decided, self._decided[:] = list(self._decided), []
        for decision in decided:
            await self.runner.handle(decision)
