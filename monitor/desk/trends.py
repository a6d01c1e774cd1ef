"""The dashboard's last hour: incidents, sessions in trouble, queue depth, time to first contact.

A small ring of fixed-width buckets in desk time; a sample lands in its bucket and a
bucket keeps the worst value it saw, so a peak between two looks still leaves its trace.
The desk samples incidents and sessions in trouble at every incident record, each first
contact as it happens; the queue depth at each look at the dashboard and each /metrics scrape.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Final

SERIES: Final[tuple[str, ...]] = ("incidents", "sessions_in_trouble", "queue_depth",
                                  "first_contact_ms")
STEP_MS: Final = 30_000
WINDOW_MS: Final = 3_600_000


class Trends:
    """Bucketed maxima of the dashboard's figures over the last hour."""

    def __init__(self, step_ms: int = STEP_MS, window_ms: int = WINDOW_MS) -> None:
        self.step_ms = step_ms
        self.window_ms = window_ms
        self._buckets: OrderedDict[int, dict[str, int | None]] = OrderedDict()

    def add(self, at: int, values: dict[str, int | None]) -> None:
        """Record the figures seen at `at` (ms); a bucket keeps each figure's maximum."""
        start = at - at % self.step_ms
        if self._buckets and start < next(reversed(self._buckets)):
            return  # older than the newest bucket: time does not run back
        bucket = self._buckets.get(start)
        if bucket is None:
            bucket = self._buckets[start] = dict.fromkeys(SERIES)
        for name in SERIES:
            v = values.get(name)
            old = bucket[name]
            if v is not None and (old is None or v > old):
                bucket[name] = v
        while self._buckets and next(iter(self._buckets)) <= start - self.window_ms:
            self._buckets.popitem(last=False)

    def to_dict(self) -> dict[str, Any]:
        """Columns for the charts: bucket starts and one list per series (None: no value)."""
        return {"step_ms": self.step_ms, "ts": list(self._buckets),
                **{name: [b[name] for b in self._buckets.values()] for name in SERIES}}
