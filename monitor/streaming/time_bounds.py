"""The worker's hook for bounded event time: records whose `ts` no clock may believe.

Each event is checked against its record's broker timestamp (live, `--clock
wall`: ahead and behind; `--clock event`: ahead only, as a recorded stream may
be old), and with `--clock event` also against the partition's reading clock
(`detectors.clock_guard.ReadingClock`). What fails becomes a bad record with
reason `ts_out_of_range`, dead-lettered and counted like any other.
"""

from __future__ import annotations

from collections.abc import Sequence

from detectors.clock_guard import ReadingClock, arrival_violations, mark_out_of_range
from detectors.config import DetectionConfig
from detectors.telemetry import BadRecord, Event


class RecordTimeBounds:
    """Event time of one partition's records, bounded by arrival (and the reading clock)."""

    def __init__(self, config: DetectionConfig, event_clock: bool) -> None:
        self.config = config
        self.event_clock = event_clock
        self.reading = ReadingClock(config) if event_clock else None

    def check(self, items: list[Event | BadRecord], stamps: Sequence[int],
              raws: Sequence[bytes]) -> None:
        """Replace, in place, every event out of range by a `ts_out_of_range` bad record.

        `stamps`: the records' broker timestamps (ms); `raws`: their values.
        """
        far = arrival_violations(items, stamps, self.config, behind=not self.event_clock)
        if far:
            mark_out_of_range(items, far, raws)
        if self.reading is not None:
            far = self.reading.admit(items)
            if far:
                mark_out_of_range(items, far, raws)
