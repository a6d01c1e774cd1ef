"""A fake Kafka producer for the collector's sink: records what the broker acknowledged."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any


class BrokerDown(ConnectionError):
    """What the fake raises while its broker is away."""


@dataclass
class FakeProducer:
    """Acknowledges sends at once while `up`; fails them (start too) while down."""

    up: bool = True
    acked: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]] = field(default_factory=list)
    started: int = 0
    sends_failed: int = 0

    async def start(self) -> None:
        if not self.up:
            raise BrokerDown("broker unreachable")
        self.started += 1

    async def stop(self) -> None:
        return None

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                   headers: Any = None) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.up:
            self.acked.append((topic, key or b"", value or b"", list(headers or [])))
            future.set_result(None)
        else:
            self.sends_failed += 1
            future.set_exception(BrokerDown("broker unreachable"))
        return future

    def values(self, topic: str) -> list[bytes]:
        """Values the broker acknowledged on `topic`, in order."""
        return [v for t, _k, v, _h in self.acked if t == topic]
