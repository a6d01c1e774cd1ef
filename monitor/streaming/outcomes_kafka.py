"""Outcomes to Kafka (`support.outcomes`), acknowledged by every in-sync replica."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from monitor.platform.logging import get_logger
from monitor.streaming.output import Out, Sender, make_producer
from outreach.contact.outcome_sink import outcome_bytes
from outreach.decide.outcomes import OutcomeRecord


class KafkaOutcomeSink:
    """Produces each outcome keyed by session (like the worker's records); retries until acked."""

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self.producer = producer
        self.topic = topic
        self.log = get_logger("outcomes", topic=topic)
        self.sender = Sender(producer, self._error)

    @classmethod
    def connect(cls, bootstrap: str, topic: str) -> KafkaOutcomeSink:
        """A sink with its own producer (call `start()` before use)."""
        return cls(make_producer(bootstrap, "firstcall-outreach"), topic)

    async def start(self) -> None:
        """Connect the producer."""
        await self.producer.start()

    async def stop(self) -> None:
        """Flush and disconnect."""
        await self.producer.stop()

    async def publish(self, record: OutcomeRecord) -> None:
        """Produce the record; returns once the broker acknowledged it."""
        key, value = outcome_bytes(record)
        await self.sender.send_all([Out(self.topic, value, key=key)])

    def _error(self, exc: BaseException, count: int, delay: float) -> None:
        self.log.warning("outcome_produce_retrying", error=repr(exc), retry_in_s=round(delay, 2))
