"""A covered backlog watched over a real Kafka broker: the feed whose backlog the test lets
through a chunk at a time, channels that note how much waited at each send, and the
records published as the correlator and workers publish them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.kafka_probe import committed_total
from detectors.records import Incident, Outreach
from monitor.platform.kafka_settings import KafkaSettings
from monitor.streaming.outreach_kafka import KafkaOutreach
from outreach.channels.base import OutboundMessage, SendResult
from outreach.contact.chain import Waits
from tests.support.channel_fakes import FakeChannel
from tests.support.live_support import Harness, harness, make_runner

SLOW = Waits(chat_s=30.0, call_s=30.0, sms_s=30.0)  # no family answers within the test


class Watching(FakeChannel):
    """A fake channel that notes, for each send, how many records the backlog still held."""

    def __init__(self, name: str, log: list[tuple[str, int]]) -> None:
        super().__init__(name)  # type: ignore[arg-type]
        self.log = log
        self.feed: KafkaOutreach | None = None

    async def send(self, message: OutboundMessage) -> SendResult:
        """Note the student and the backlog's length; queued (no reply comes)."""
        self.log.append((message.student_id, len(self.feed.backlog) if self.feed else -1))
        await super().send(message)
        return SendResult("queued", provider_id=message.message_id)


async def publish(s: KafkaSettings, records: Sequence[Incident | Outreach]) -> None:
    """Records as the correlator and workers publish them (incidents and decisions)."""
    producer = AIOKafkaProducer(bootstrap_servers=s.bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        for r in records:
            topic = s.topics.incidents if isinstance(r, Incident) else s.topics.outcomes
            await producer.send(topic, orjson.dumps(r.to_dict()),
                                key=(r.session_id or r.incident_id).encode())  # fmt: skip
        await producer.flush()
    finally:
        await producer.stop()


async def watched(engine: AsyncEngine, tmp_path: Path) -> tuple[Harness, list[tuple[str, int]]]:
    """A runner whose chat and call note each send with the backlog's length then."""
    base = await harness(engine, tmp_path, SLOW)
    log: list[tuple[str, int]] = []
    channels = {n: Watching(n, log) for n in ("chat", "call", "sms")}
    return make_runner(engine, base.cases, base.directory, SLOW, channels=channels), log


class Gated(KafkaOutreach):
    """The feed, its backlog taken in only as many chunks as the test lets through."""

    chunks_left = 0  # chunks the backlog may still take in (the test moves it on)

    async def work_backlog(self) -> int:
        """As the feed does, a chunk at a time, while the test lets chunks through."""
        if self.backlog and self.chunks_left <= 0:
            await asyncio.sleep(0.05)  # held: polls again soon, not at once
        done = 0
        while self.backlog and self.chunks_left > 0:
            self.chunks_left -= 1
            chunk = self.backlog.take(self.backlog_chunk)
            await self.apply_all([p.record for p in chunk], feed=False)
            done += len(chunk)
        return done


def watch(h: Harness, feed: Gated) -> Gated:
    """Let the runner's channels see the feed's backlog."""
    for channel in h.runner.chain.channels.values():
        if isinstance(channel, Watching):
            channel.feed = feed
    return feed


async def committed(s: KafkaSettings, group: str, records: int) -> bool:
    """Has `group` committed every record of both topics (`records` in all)?"""
    parts = s.telemetry_partitions
    total = await committed_total(s.bootstrap, group, s.topics.incidents, parts)
    total += await committed_total(s.bootstrap, group, s.topics.outcomes, parts)
    return total == records
