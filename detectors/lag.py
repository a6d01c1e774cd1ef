"""Lag: at least 3 of a session's last 5 stats intervals are degraded.

The window holds the session's last `lag_window` stats by event time, each
packed in one int (``ts << 24 | interval_ms << 8 | flags``) so that a window
costs a few hundred bytes and sorts by time. Duplicates (same ts) are ignored;
a late interval is inserted in its place if the window still reaches back to it.
"""

from __future__ import annotations

from bisect import insort
from typing import Any, Final

from detectors.config import DetectionConfig

FREEZE: Final = 1
AUDIO_STALL: Final = 2
LOW_FPS: Final = 4
LOSS: Final = 8
RTT: Final = 16
FLAG_NAMES: Final = ((FREEZE, "freeze"), (AUDIO_STALL, "audio_stall"), (LOW_FPS, "low_fps"),
                     (LOSS, "loss"), (RTT, "rtt"))

_TS_SHIFT: Final = 24
_IV_MASK: Final = 0xFFFF
_FLAG_MASK: Final = 0xFF


def degraded_flags(
    cfg: DetectionConfig,
    interval_ms: int,
    rtt_ms: float,
    loss_pct: float,
    recv_kbps: float,
    fps: float,
    freeze_ms: int,
    audio_stall_ms: int,
) -> int:
    """Which degradation criteria one interval meets (0 = clean)."""
    f = 0
    if freeze_ms >= cfg.freeze_share * interval_ms:
        f |= FREEZE
    if audio_stall_ms >= cfg.audio_stall_share * interval_ms:
        f |= AUDIO_STALL
    if fps < cfg.min_fps and recv_kbps > 0:
        f |= LOW_FPS
    if loss_pct > cfg.max_loss_pct:
        f |= LOSS
    if rtt_ms > cfg.max_rtt_ms:
        f |= RTT
    return f


def flag_names(flags: int) -> list[str]:
    """Names of the criteria in `flags`."""
    return [name for bit, name in FLAG_NAMES if flags & bit]


def pack(ts: int, interval_ms: int, flags: int) -> int:
    """One window entry."""
    return (ts << _TS_SHIFT) | ((interval_ms & _IV_MASK) << 8) | flags


def entry_ts(entry: int) -> int:
    """Event time (end) of a window entry."""
    return entry >> _TS_SHIFT


def entry_start(entry: int) -> int:
    """Start of the interval of a window entry."""
    return (entry >> _TS_SHIFT) - ((entry >> 8) & _IV_MASK)


class LagState:
    """The lag detector's state for one session."""

    __slots__ = ("degraded", "incident_id", "last_degraded_ts", "started_at", "window")

    def __init__(self) -> None:
        self.window: list[int] = []
        self.degraded = 0
        self.incident_id = ""
        self.started_at = 0
        self.last_degraded_ts = 0

    @property
    def open(self) -> bool:
        """True while a lag incident is open."""
        return bool(self.incident_id)

    def add(self, entry: int, size: int) -> bool:
        """Put one interval into the window; False if it is a duplicate or too late."""
        w = self.window
        if not w or entry > w[-1]:
            if w and entry >> _TS_SHIFT == w[-1] >> _TS_SHIFT:
                return False
            w.append(entry)
            if entry & _FLAG_MASK:
                self.degraded += 1
            if len(w) > size:
                if w.pop(0) & _FLAG_MASK:
                    self.degraded -= 1
            return True
        ts = entry >> _TS_SHIFT
        for e in w:
            if e >> _TS_SHIFT == ts:
                return False
        if len(w) >= size and entry < w[0]:
            return False
        insort(w, entry)
        if entry & _FLAG_MASK:
            self.degraded += 1
        if len(w) > size and w.pop(0) & _FLAG_MASK:
            self.degraded -= 1
        return True

    def first_degraded(self) -> int:
        """The earliest degraded entry in the window (0 if none)."""
        for e in self.window:
            if e & _FLAG_MASK:
                return e
        return 0

    def last_degraded(self) -> int:
        """The latest degraded entry in the window (0 if none)."""
        for e in reversed(self.window):
            if e & _FLAG_MASK:
                return e
        return 0

    def reset(self) -> None:
        """Forget the window (after a `leave`)."""
        self.window.clear()
        self.degraded = 0

    def evidence(self, cfg: DetectionConfig) -> dict[str, Any]:
        """The intervals that decided the lag."""
        return {
            "rule": f"{cfg.lag_min_degraded} of last {cfg.lag_window} intervals degraded",
            "degraded": self.degraded,
            "window": len(self.window),
            "intervals": [
                {
                    "ts": entry_ts(e),
                    "interval_ms": (e >> 8) & _IV_MASK,
                    "degraded": flag_names(e & _FLAG_MASK),
                }
                for e in self.window
            ],
        }
