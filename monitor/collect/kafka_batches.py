"""aiokafka's producer fed whole batches: one `send_batch` per partition, not one send per event.

A request's events share a key (its session), so they go to one partition; building that
partition's batch directly skips aiokafka's per-message bookkeeping (a coroutine, a
partitioner call, an accumulator lookup and a future per event). The partition is the
one aiokafka's default partitioner picks for the key (murmur2, as the Java client), so
a session's events land where a per-event `send` would put them, in order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any, Final

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from monitor.collect.sink import Record

PARTITIONS_TTL_S: Final = 60.0  # partition counts are looked up again after this long
MAX_KEYS: Final = 100_000  # partitions remembered by key (forgotten all at once beyond)


class BatchedProducer:
    """An AIOKafkaProducer with `send_records`: a sink's records as per-partition batches."""

    def __init__(self, producer: AIOKafkaProducer, clock_s: Any = time.monotonic) -> None:
        self.producer = producer
        self.clock_s = clock_s
        self._partitioner = DefaultPartitioner()
        self._partitions: dict[str, tuple[float, list[int]]] = {}
        self._keys: dict[tuple[str, bytes], int] = {}

    async def start(self) -> None:
        """Connect."""
        await self.producer.start()

    async def stop(self) -> None:
        """Flush and disconnect."""
        await self.producer.stop()

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                   headers: Any = None) -> asyncio.Future[Any]:
        """One record, as aiokafka sends it."""
        future: asyncio.Future[Any] = await self.producer.send(
            topic, value=value, key=key, headers=headers)
        return future

    async def send_records(self, records: Sequence[Record]) -> list[asyncio.Future[Any]]:
        """Queue `records` as batches (in order per partition); the futures resolve on ack."""
        groups: dict[tuple[str, int], list[Record]] = {}
        for r in records:
            partition = await self._partition(r.topic, r.key)
            groups.setdefault((r.topic, partition), []).append(r)
        futures: list[asyncio.Future[Any]] = []
        for (topic, partition), group in groups.items():
            batch, filled = self.producer.create_batch(), 0
            for r in group:
                if self._append(batch, r):
                    filled += 1
                    continue
                if filled:  # full: send it, start the next one
                    futures.append(await self.producer.send_batch(batch, topic,
                                                                  partition=partition))
                    batch, filled = self.producer.create_batch(), 0
                    if self._append(batch, r):
                        filled += 1
                        continue
                # Larger than a batch: aiokafka's own send makes it a batch of its own.
                futures.append(await self.producer.send(topic, value=r.value, key=r.key,
                                                        partition=partition,
                                                        headers=list(r.headers) or None))
            if filled:
                futures.append(await self.producer.send_batch(batch, topic,
                                                              partition=partition))
        return futures

    @staticmethod
    def _append(batch: Any, r: Record) -> bool:
        return batch.append(key=r.key, value=r.value, timestamp=None,
                            headers=list(r.headers)) is not None

    async def _partition(self, topic: str, key: bytes) -> int:
        known = self._keys.get((topic, key))
        if known is not None:
            return known
        now = self.clock_s()
        cached = self._partitions.get(topic)
        if cached is None or now - cached[0] > PARTITIONS_TTL_S:
            partitions = sorted(await self.producer.partitions_for(topic))
            if cached is None or partitions != cached[1]:
                self._keys = {k: p for k, p in self._keys.items() if k[0] != topic}
            cached = self._partitions[topic] = (now, partitions)
        partition: int = self._partitioner(key, cached[1], cached[1])
        if len(self._keys) >= MAX_KEYS:
            self._keys.clear()
        self._keys[(topic, key)] = partition
        return partition
