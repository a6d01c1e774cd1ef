"""A small in-process message bus with Kafka's shape: topics, keys, offsets, groups.

The demo and tests run the same stages as production over it; each consumer
group has its own position in a topic's log, so every group sees every record.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Message:
    """One record of a topic."""

    topic: str
    key: bytes
    value: bytes
    offset: int


@dataclass
class _Topic:
    log: list[Message] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    closed: bool = False


class InProcessBus:
    """Topics held in memory; consumer groups read them at their own pace."""

    def __init__(self) -> None:
        self._topics: dict[str, _Topic] = {}
        self._positions: dict[tuple[str, str], int] = {}

    def _topic(self, name: str) -> _Topic:
        t = self._topics.get(name)
        if t is None:
            t = self._topics[name] = _Topic()
        return t

    async def publish(self, topic: str, key: bytes, value: bytes) -> int:
        """Append a record; returns its offset."""
        t = self._topic(topic)
        msg = Message(topic, key, value, len(t.log))
        t.log.append(msg)
        async with t.changed:
            t.changed.notify_all()
        return msg.offset

    async def close(self, topic: str) -> None:
        """No more records will come: readers finish once they reach the end."""
        t = self._topic(topic)
        t.closed = True
        async with t.changed:
            t.changed.notify_all()

    def size(self, topic: str) -> int:
        """Number of records in a topic."""
        return len(self._topic(topic).log)

    async def batches(self, topic: str, group: str, max_records: int = 2048,
                      timeout: float = 0.2) -> AsyncIterator[list[Message]]:
        """Read a topic as a group, in batches; yields [] when idle for `timeout` s."""
        t = self._topic(topic)
        key = (topic, group)
        while True:
            pos = self._positions.get(key, 0)
            if pos < len(t.log):
                batch = t.log[pos:pos + max_records]
                self._positions[key] = pos + len(batch)
                yield batch
                continue
            if t.closed:
                return
            async with t.changed:
                try:
                    await asyncio.wait_for(t.changed.wait(), timeout)
                except TimeoutError:
                    yield []
