"""Flapping: `flap_drops` or more drops of one session within `flap_window_ms`.

A drop is a disconnect episode or a whole reconnect sequence; overlapping ones
count once (the engine starts a drop only on leaving the connected state).
"""

from __future__ import annotations

from bisect import insort
from typing import Any

from detectors.config import DetectionConfig


class FlapState:
    """Recent drops of one session and its open flapping incident, if any."""

    __slots__ = ("detected_at", "incident_id", "last_end", "started_at", "starts")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.last_end = 0
        self.incident_id = ""
        self.started_at = 0
        self.detected_at = 0

    def add_drop(self, start: int, cfg: DetectionConfig) -> int | None:
        """Record a drop; returns the flapping start time if this drop makes it flap."""
        starts = self.starts
        horizon = start - cfg.flap_window_ms
        while starts and starts[0] < horizon:
            del starts[0]
        if start in starts:
            return None
        insort(starts, start)
        if self.incident_id:
            return None
        need = cfg.flap_drops
        for i in range(len(starts) - need + 1):
            if starts[i + need - 1] - starts[i] <= cfg.flap_window_ms:
                return starts[i]
        return None

    def move_start(self, old: int, new: int) -> None:
        """A late, earlier event of the same drop arrived: the drop began at `new`."""
        if old in self.starts:
            self.starts.remove(old)
            insort(self.starts, new)
            if self.incident_id and self.started_at == old:
                self.started_at = new

    def end_drop(self, end: int) -> None:
        """Note the end of a drop."""
        if end > self.last_end:
            self.last_end = end

    def idle(self, now: int, cfg: DetectionConfig) -> bool:
        """True when nothing here can matter any more (state can be dropped)."""
        recent = bool(self.starts) and self.starts[-1] >= now - cfg.flap_window_ms
        return not self.incident_id and not recent

    def evidence(self, cfg: DetectionConfig) -> dict[str, Any]:
        """The drops that decided the flapping."""
        return {
            "rule": f"{cfg.flap_drops} drops within {cfg.flap_window_ms // 1000} s",
            "drops": len(self.starts),
            "drop_starts": list(self.starts),
        }
