"""The covered families' backlog: an outage's records wait here so others' go first.

An outage brings a thousand covered families' records within seconds (issue 20); taking
them in costs the outreach service tens of seconds of CPU. Were they taken in poll by poll,
an ordinary family's problem polled a moment later would wait behind all of them. So each
poll's line records and covered families' records (`outreach.contact.poll_order`) are put
here, in arrival order, and taken in a little at a time between polls; every poll's
ordinary families go first. A family with records waiting here has all its later records
put here too (one family's records stay in order).

Nothing is lost in a crash: a partition's committed offset never passes its oldest record
still waiting here (`commit_offsets`), so a restart reads it again (the runtime knows a
record it has applied by its incident id). On a rebalance, the records of partitions given
away are dropped: their new owner reads them from that same committed offset.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from detectors.records import Incident, Outreach
from outreach.contact.poll_order import family_of

P = TypeVar("P")  # a partition (aiokafka's TopicPartition; anything hashable in tests)


@dataclass(frozen=True, slots=True)
class Polled(Generic[P]):
    """A record as polled: its partition and offset, and the record."""

    partition: P
    offset: int
    record: Incident | Outreach


class CoveredBacklog(Generic[P]):
    """Records waiting in arrival order, with the families and partitions they hold back."""

    def __init__(self) -> None:
        self._waiting: deque[Polled[P]] = deque()
        self._families: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, polled: Iterable[Polled[P]]) -> None:
        """Put records at the end (in the order given)."""
        for p in polled:
            self._waiting.append(p)
            self._families[family_of(p.record)] += 1

    def holds(self, record: Incident | Outreach) -> bool:
        """Does a record of this record's family wait here (then it must wait behind it)?"""
        return self._families[family_of(record)] > 0

    def take(self, most: int) -> list[Polled[P]]:
        """The oldest `most` records, taken out (none of their family's stays ahead of them)."""
        out = [self._waiting.popleft() for _ in range(min(most, len(self._waiting)))]
        for p in out:
            family = family_of(p.record)
            self._families[family] -= 1
            if self._families[family] <= 0:
                del self._families[family]
        return out

    def oldest(self) -> dict[P, int]:
        """Each partition's oldest offset still waiting here."""
        found: dict[P, int] = {}
        for p in self._waiting:
            if p.partition not in found or p.offset < found[p.partition]:
                found[p.partition] = p.offset
        return found

    def keep_only(self, partitions: Collection[P]) -> int:
        """Drop the records of partitions not in `partitions` (given away); how many."""
        kept = [p for p in self._waiting if p.partition in partitions]
        dropped = len(self._waiting) - len(kept)
        if dropped:
            self._waiting.clear()
            self._families.clear()
            self.add(kept)
        return dropped


def commit_offsets(polled_to: Mapping[P, int], waiting: Mapping[P, int],
                   assigned: Collection[P]) -> dict[P, int]:  # fmt: skip
    """The offsets to commit: each assigned partition's next offset to read, held back to its
    oldest record still waiting (read again after a crash) when one waits."""
    out: dict[P, int] = {}
    for partition, next_offset in polled_to.items():
        if partition in assigned:
            out[partition] = min(next_offset, waiting.get(partition, next_offset))
    return out
