"""The Kafka benchmark's school: realistic telemetry per session, keyed and partitioned as
the workers see it, and a producer that fills a topic with it in full batches."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

PARTITIONS = 4
T0 = 1_795_000_000_000


@dataclass(slots=True)
class Keyed:
    """One message with its partition and key."""

    partition: int
    key: bytes
    value: bytes


def _stats(sid: str, room: str, ts: int, bad: bool) -> dict[str, Any]:
    return {
        "v": 1, "type": "stats", "ts": ts, "session_id": sid, "student_id": "st-" + sid,
        "classroom_id": room, "interval_ms": 2000, "rtt_ms": 900.0 if bad else 38.5,
        "jitter_ms": 2.5, "loss_pct": 14.0 if bad else 0.2, "recv_kbps": 812.0,
        "fps": 4.0 if bad else 24.0, "freeze_ms": 900 if bad else 0, "audio_stall_ms": 0,
    }  # fmt: skip


def _join(sid: str, room: str, ts: int, edge: str, isp: str) -> dict[str, Any]:
    return {
        "v": 1, "type": "join", "ts": ts, "session_id": sid, "student_id": "st-" + sid,
        "classroom_id": room, "client": {"app_version": "5.2.1", "os": "win", "device": "pc"},
        "network": {"conn": "wifi", "isp": isp, "region": "north", "edge": edge},
    }  # fmt: skip


class School:
    """Sessions of a school with their partitions; a few go through a stretch of lag."""

    def __init__(self, sessions: int, seed: int = 7) -> None:
        part = DefaultPartitioner()
        everyone = list(range(PARTITIONS))
        self.rng = random.Random(seed)
        self.ids = [f"sess-{k:06d}" for k in range(sessions)]
        self.rooms = [f"room-{k // 6:05d}" for k in range(sessions)]
        self.keys = [sid.encode() for sid in self.ids]
        self.parts = [part(k, everyone, everyone) for k in self.keys]
        self._templates: tuple[list[bytes], list[bytes], list[bytes], list[bytes]] | None = None

    def join(self, k: int, ts: int) -> Keyed:
        """The join of session k."""
        value = _join(self.ids[k], self.rooms[k], ts, f"edge-{k % 40}", f"isp-{k % 7}")
        return Keyed(self.parts[k], self.keys[k], orjson.dumps(value))

    def stats(self, k: int, ts: int, bad: bool) -> Keyed:
        """One stats interval of session k."""
        return Keyed(
            self.parts[k], self.keys[k], orjson.dumps(_stats(self.ids[k], self.rooms[k], ts, bad))
        )

    def stats_templates(self) -> tuple[list[bytes], list[bytes], list[bytes], list[bytes]]:
        """Per session, the stats JSON around its time: heads and tails, good and bad.

        `head + str(ts).encode() + tail` is `stats(k, ts, bad).value`: the live load
        generator only joins bytes, so it takes little of the CPU the worker shares.
        """
        if self._templates is None:
            parts: list[list[bytes]] = [[], [], [], []]
            for k in range(len(self.ids)):
                for i, bad in enumerate((False, True)):
                    raw = orjson.dumps(_stats(self.ids[k], self.rooms[k], 0, bad))
                    head, tail = raw.split(b'"ts":0', 1)
                    parts[2 * i].append(head + b'"ts":')
                    parts[2 * i + 1].append(tail)
            self._templates = (parts[0], parts[1], parts[2], parts[3])
        return self._templates

    def stats_bytes(self, k: int, ts: int, bad: bool) -> bytes:
        """The stats JSON of session k at `ts`, from its template."""
        heads_ok, tails_ok, heads_bad, tails_bad = self.stats_templates()
        if bad:
            return heads_bad[k] + str(ts).encode() + tails_bad[k]
        return heads_ok[k] + str(ts).encode() + tails_ok[k]

    def history(self, messages: int) -> Iterator[Keyed]:
        """`messages` messages: joins, then rounds of stats every 2 s; 1 % of sessions lag."""
        n = len(self.ids)
        for k in range(n):
            yield self.join(k, T0 + k)
        sent = n
        step = 1
        while sent < messages:
            for k in range(n):
                if sent >= messages:
                    return
                bad = k % 100 == 0 and step % 40 in (10, 11, 12)
                yield self.stats(k, T0 + k + 2000 * step, bad)
                sent += 1
            step += 1


async def fill(bootstrap: str, topic: str, messages: Iterator[Keyed]) -> int:
    """Produce pre-encoded messages in full batches per partition; returns the count."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=10,
                                max_batch_size=512 * 1024)  # fmt: skip
    await producer.start()
    batches = {p: producer.create_batch() for p in range(PARTITIONS)}
    pending: list[asyncio.Future[Any]] = []
    n = 0
    try:
        for m in messages:
            b = batches[m.partition]
            if b.append(key=m.key, value=m.value, timestamp=None) is None:
                pending.append(await producer.send_batch(b, topic, partition=m.partition))
                b = batches[m.partition] = producer.create_batch()
                b.append(key=m.key, value=m.value, timestamp=None)
            n += 1
            if len(pending) > 64:
                await asyncio.gather(*pending)
                pending.clear()
        for p, b in batches.items():
            if b.record_count():
                pending.append(await producer.send_batch(b, topic, partition=p))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return n

