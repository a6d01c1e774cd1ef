"""What the worker loop needs from the per-partition detection logic."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from detectors.telemetry import BadRecord, Event
from monitor.streaming.output import Out


class Fetched(Protocol):
    """What the processors read of a consumed record (aiokafka's ConsumerRecord or, on the
    lean record path, the record object aiokafka decoded from the fetched batch)."""

    @property
    def offset(self) -> int:
        """Offset in the partition."""

    @property
    def timestamp(self) -> int:
        """Record time (ms): when it reached the system."""


class PartitionProcessor(Protocol):
    """Detection state of one input partition: events in, records out."""

    restart_from: int  # offset from which this partition's state can be rebuilt
    resume_offset: int  # first offset not yet committed when the partition was assigned
    sources: int  # partitions of the input topic

    def feed_records(self, events: Sequence[Event], records: Sequence[Fetched]) -> None:
        """Process decoded events of this partition (in offset order) with their records."""

    def bound_times(self, items: list[Event | BadRecord], stamps: Sequence[int],
                    raws: Sequence[bytes]) -> None:
        """Make events whose `ts` is out of range `ts_out_of_range` bad records (in place)."""

    def advance(self, now_ms: int | None) -> None:
        """Fire timers up to `now_ms` (event-time domain); None: only the events' own time."""

    def watermark(self) -> int:
        """Event time up to which this partition has been processed."""

    def drain(self) -> list[Out]:
        """Records produced since the last drain (incidents, outreach, findings, state)."""

    def restore(self, state: Mapping[bytes, bytes]) -> None:
        """Load the state records of this partition (from the compacted state topic)."""


ProcessorFactory = Callable[[int], PartitionProcessor]


class NullProcessor:
    """Detects nothing; for plumbing tests and the raw-throughput baseline."""

    def __init__(self, partition: int) -> None:
        self.partition = partition
        self.events = 0
        self.max_ts = 0
        self.restart_from = 0
        self.resume_offset = 0
        self.sources = 0

    def feed_records(self, events: Sequence[Event], records: Sequence[Fetched]) -> None:
        """Count events and track the largest event time."""
        self.events += len(events)
        for e in events:
            if e.ts > self.max_ts:
                self.max_ts = e.ts

    def bound_times(self, items: list[Event | BadRecord], stamps: Sequence[int],
                    raws: Sequence[bytes]) -> None:
        """No bounds: the raw-throughput baseline takes every event."""

    def advance(self, now_ms: int | None) -> None:
        """Nothing to fire."""

    def watermark(self) -> int:
        """The largest event time seen."""
        return self.max_ts

    def drain(self) -> list[Out]:
        """Nothing to produce."""
        return []

    def restore(self, state: Mapping[bytes, bytes]) -> None:
        """Nothing to restore."""
