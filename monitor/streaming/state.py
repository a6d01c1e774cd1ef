"""Per-partition state on a compacted topic: write changes, restore on assignment."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from monitor.streaming.output import Out

BARRIER_KEY = b"\x00barrier"


def state_record(topic: str, partition: int, key: bytes, value: bytes | None) -> Out:
    """A state change of `key` (None deletes it) on the partition mirroring the input's."""
    return Out(topic=topic, value=value, key=key, partition=partition)


class StateStore:
    """Reads a compacted state topic back, up to a barrier record this reader wrote.

    The end offset the broker reports can trail what is readable, so restore
    writes a unique barrier record to each partition and reads until it sees it.
    """

    def __init__(self, bootstrap: str, topic: str, producer: AIOKafkaProducer) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.producer = producer

    async def restore(
        self, partitions: list[int], timeout_s: float = 30.0
    ) -> dict[int, dict[bytes, bytes]]:
        """The latest value of every live key, per partition."""
        out: dict[int, dict[bytes, bytes]] = {p: {} for p in partitions}
        if not partitions:
            return out
        token = uuid.uuid4().hex.encode()
        acks = [
            await self.producer.send(self.topic, token, key=BARRIER_KEY, partition=p)
            for p in partitions
        ]
        await asyncio.gather(*acks)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            group_id=None,
        )
        await consumer.start()
        try:
            tps = [TopicPartition(self.topic, p) for p in partitions]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            waiting = set(partitions)
            async with asyncio.timeout(timeout_s):
                while waiting:
                    batch = await consumer.getmany(timeout_ms=200, max_records=10_000)
                    for tp, records in batch.items():
                        state = out[tp.partition]
                        for r in records:
                            if r.key == BARRIER_KEY:
                                if r.value == token:
                                    waiting.discard(tp.partition)
                            elif r.key is not None:
                                if r.value is None:
                                    state.pop(r.key, None)
                                else:
                                    state[r.key] = r.value
        finally:
            await consumer.stop()
        return out
