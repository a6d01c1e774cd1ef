"""The rebalance listener of every FirstCall consumer: it hands the event to its owner."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from aiokafka import ConsumerRebalanceListener, TopicPartition


class RebalanceOwner(Protocol):
    """A consumer-group member that flushes on revoke and restores on assign."""

    async def on_revoked(self, revoked: list[TopicPartition]) -> None:
        """Partitions are leaving: flush and commit."""

    async def on_assigned(self, assigned: list[TopicPartition]) -> None:
        """Partitions arrived: restore their state."""


class DelegatingListener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Flushes and commits before partitions leave; restores state when they arrive."""

    def __init__(self, owner: RebalanceOwner) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self.owner.on_revoked(list(revoked))

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        await self.owner.on_assigned(list(assigned))
