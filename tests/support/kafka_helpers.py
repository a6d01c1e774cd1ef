"""Helpers for tests against the real broker: topics, telemetry, produce and collect."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from monitor.platform.kafka_settings import KafkaSettings, Topics
from monitor.streaming.topics import ensure_topics, topic_specs

T0 = 1_795_000_000_000


def isolated_settings(bootstrap: str, **overrides: Any) -> KafkaSettings:
    """Settings whose topics and groups no other test uses."""
    tag = uuid.uuid4().hex[:8]
    base: dict[str, Any] = {
        "bootstrap": bootstrap,
        "topics": Topics().prefixed(f"t{tag}."),
        "worker_group": f"w-{tag}",
        "correlator_group": f"c-{tag}",
        "poll_ms": 50,
    }
    base.update(overrides)
    return KafkaSettings(**base)


async def create_topics(s: KafkaSettings) -> None:
    """Create every topic of `s` on the broker."""
    await ensure_topics(s.bootstrap, topic_specs(s))


def join(session: str, ts: int, classroom: str = "c1", edge: str = "edge-1") -> dict[str, Any]:
    """A join event."""
    return {
        "v": 1,
        "type": "join",
        "ts": ts,
        "session_id": session,
        "student_id": "st-" + session,
        "classroom_id": classroom,
        "client": {"app_version": "5.1", "os": "win", "device": "pc"},
        "network": {"conn": "wifi", "isp": "isp-a", "region": "north", "edge": edge},
    }


def stats(session: str, ts: int, classroom: str = "c1", bad: bool = False) -> dict[str, Any]:
    """A stats interval, clean or degraded."""
    return {
        "v": 1,
        "type": "stats",
        "ts": ts,
        "session_id": session,
        "student_id": "st-" + session,
        "classroom_id": classroom,
        "interval_ms": 2000,
        "rtt_ms": 900.0 if bad else 40.0,
        "jitter_ms": 3.0,
        "loss_pct": 20.0 if bad else 0.0,
        "recv_kbps": 800.0,
        "fps": 3.0 if bad else 25.0,
        "freeze_ms": 1200 if bad else 0,
        "audio_stall_ms": 0,
    }


def encode(obj: dict[str, Any]) -> bytes:
    """JSON bytes of a telemetry object."""
    return orjson.dumps(obj)


async def produce(bootstrap: str, topic: str, items: Iterable[tuple[bytes | None, bytes]]) -> int:
    """Produce (key, value) pairs and wait for every ack; returns the count."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for key, value in items]
        await asyncio.gather(*futures)
        return len(futures)
    finally:
        await producer.stop()


async def collect(
    bootstrap: str,
    topic: str,
    *,
    until: int | None = None,
    idle_s: float = 2.0,
    timeout_s: float = 60.0,
) -> list[Any]:
    """Read a topic from the beginning: until `until` records, or `idle_s` without any."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    out: list[Any] = []
    try:
        await consumer.topics()  # refreshes the metadata
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        last = loop.time()
        while loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            got = [r for recs in batch.values() for r in recs]
            out.extend(got)
            if got:
                last = loop.time()
            if until is not None and len(out) >= until:
                break
            if until is None and loop.time() - last >= idle_s:
                break
        return out
    finally:
        await consumer.stop()


def values(records: Sequence[Any]) -> list[dict[str, Any]]:
    """The JSON values of records."""
    return [orjson.loads(r.value) for r in records]


