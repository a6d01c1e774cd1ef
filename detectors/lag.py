"""Lag: at least 3 of a session's last 5 stats intervals are degraded.

The window holds the session's last `lag_window` stats by event time, each
packed in one signed 64-bit slot (``ts << 21 | interval_ms << 5 | flags``:
42 + 16 + 5 bits) of an ``array('q')``, so a window costs about 130 bytes and
sorts by time. Duplicates (same ts) are ignored;
a late interval is inserted in its place if the window still reaches back to it.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from typing import Any, Final

from detectors.config import DetectionConfig

FREEZE: Final = 1
AUDIO_STALL: Final = 2
LOW_FPS: Final = 4
LOSS: Final = 8
RTT: Final = 16
FLAG_NAMES: Final = ((FREEZE, "freeze"), (AUDIO_STALL, "audio_stall"), (LOW_FPS, "low_fps"),
                     (LOSS, "loss"), (RTT, "rtt"))

TS_SHIFT: Final = 21
IV_SHIFT: Final = 5
_IV_MASK: Final = 0xFFFF
_FLAG_MASK: Final = 0x1F


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
    return (ts << TS_SHIFT) | ((interval_ms & _IV_MASK) << IV_SHIFT) | flags


def entry_ts(entry: int) -> int:
    """Event time (end) of a window entry."""
    return entry >> TS_SHIFT


def entry_start(entry: int) -> int:
    """Start of the interval of a window entry."""
    return (entry >> TS_SHIFT) - ((entry >> IV_SHIFT) & _IV_MASK)


class LagState:
    """The lag detector's state for one session.

    `window` keeps the last `size + extra` intervals (sorted by time) so that a
    late interval can be judged in the 5-window it belongs to; `degraded`
    counts the degraded intervals among the newest `size`.
    """

    __slots__ = ("degraded", "incident_id", "last_degraded_ts", "started_at", "window")

    def __init__(self) -> None:
        self.window: array[int] = array("q")
        self.degraded = 0
        self.incident_id = ""
        self.started_at = 0
        self.last_degraded_ts = 0

    @property
    def open(self) -> bool:
        """True while a lag incident is open."""
        return bool(self.incident_id)

    def add(self, entry: int, size: int, cap: int) -> int:
        """Put one interval into the window; its index, or -1 if a duplicate or too late."""
        w = self.window
        if not w or entry > w[-1]:
            if w and entry >> TS_SHIFT == w[-1] >> TS_SHIFT:
                return -1
            w.append(entry)
            if entry & _FLAG_MASK:
                self.degraded += 1
            n = len(w)
            if n > size and w[n - size - 1] & _FLAG_MASK:
                self.degraded -= 1
            if n > cap:
                del w[0]
                return n - 2
            return n - 1
        ts = entry >> TS_SHIFT
        for e in w:
            if e >> TS_SHIFT == ts:
                return -1
        if len(w) >= cap and entry < w[0]:
            return -1
        pos = bisect_left(w, entry)
        w.insert(pos, entry)
        if len(w) > cap:
            del w[0]
            pos -= 1
        self.degraded = sum(1 for e in w[-size:] if e & _FLAG_MASK)
        return pos

    def qualifying(self, first_end: int, last_end: int, size: int, need: int
                   ) -> tuple[int, int] | None:
        """The earliest window ending in [first_end, last_end] with `need` degraded."""
        w = self.window
        for end in range(max(first_end, 0), min(last_end, len(w) - 1) + 1):
            start = max(0, end - size + 1)
            if sum(1 for e in w[start:end + 1] if e & _FLAG_MASK) >= need:
                return start, end
        return None

    def first_clean_window(self, first_end: int, size: int) -> int | None:
        """The end index of the earliest all-clean full window ending at or after `first_end`."""
        w = self.window
        for end in range(max(first_end, size - 1), len(w)):
            if not any(e & _FLAG_MASK for e in w[end - size + 1:end + 1]):
                return end
        return None

    def first_degraded(self, start: int, end: int) -> int:
        """The earliest degraded entry in w[start..end] (0 if none)."""
        for e in self.window[start:end + 1]:
            if e & _FLAG_MASK:
                return e
        return 0

    def last_degraded(self, start: int, end: int) -> int:
        """The latest degraded entry in w[start..end] (0 if none)."""
        for e in reversed(self.window[start:end + 1]):
            if e & _FLAG_MASK:
                return e
        return 0

    def reset(self) -> None:
        """Forget the window (after a `leave`)."""
        del self.window[:]
        self.degraded = 0

    def evidence(self, cfg: DetectionConfig, start: int, end: int) -> dict[str, Any]:
        """The intervals that decided the lag."""
        part = self.window[start:end + 1]
        return {
            "rule": f"{cfg.lag_min_degraded} of last {cfg.lag_window} intervals degraded",
            "degraded": sum(1 for e in part if e & _FLAG_MASK),
            "window": len(part),
            "intervals": [
                {
                    "ts": entry_ts(e),
                    "interval_ms": (e >> IV_SHIFT) & _IV_MASK,
                    "degraded": flag_names(e & _FLAG_MASK),
                }
                for e in part
            ],
        }
