"""Line pressure: which sessions of a line went into trouble lately, as known at a time.

The outreach policy asks it before contacting a family (`line_wait_ms`): when
enough others on the same line are in trouble too, the line verdict may be coming.
Fed with episode starts (line key, start time, session, detection time, and the
line's active sessions then), from the session engine in replay and the demo, and
from the line correlator's verdict topic on the Kafka workers, it answers the same
in both: a start counts at `now` only once it was detected (`detected_at <= now`),
whatever order the starts arrived in.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from dataclasses import dataclass

from detectors.config import DetectionConfig

_KEEP_MS = 3_600_000  # starts kept behind the newest detection (queries trail by far less)


@dataclass(frozen=True, slots=True)
class Strain:
    """One line at a time: its sessions whose trouble began within the window, and its size."""

    key: str
    sessions: frozenset[str]
    active: int  # the line's sessions when the newest of those was detected (0: not told)


class LinePressure:
    """Episode starts per line key, and the strain a decision at a time sees."""

    def __init__(self, config: DetectionConfig) -> None:
        self.window_ms = config.line_window_ms + config.silence_ms
        self.starts: dict[str, list[tuple[int, str, int, int]]] = {}
        self.newest = 0

    def add(self, key: str, ts: int, session_id: str, detected_at: int, active: int = 0) -> None:
        """An episode of `session_id` began at `ts` on line `key` (of `active` sessions)."""
        entries = self.starts.get(key)
        if entries is None:
            entries = self.starts[key] = []
        i = bisect_left(entries, (ts, session_id, detected_at))
        if i < len(entries) and entries[i][:3] == (ts, session_id, detected_at):
            return  # the same start again (a rebuilt partition, a second copy)
        insort(entries, (ts, session_id, detected_at, active))
        if detected_at > self.newest:
            self.newest = detected_at
            horizon = detected_at - _KEEP_MS
            while entries and entries[0][0] < horizon:
                del entries[0]

    def strains(self, line: dict[str, str], now_ms: int) -> list[Strain]:
        """The strain of the edge and of the ISP+region at `now_ms` (if any trouble is recent)."""
        keys = (f"edge:{line.get('edge', '')}",
                f"isp:{line.get('isp', '')}/{line.get('region', '')}")
        horizon = now_ms - self.window_ms
        out: list[Strain] = []
        for key in keys:
            entries = self.starts.get(key)
            if not entries:
                continue
            lo = bisect_left(entries, (horizon,))
            recent: set[str] = set()
            newest, active = -1, 0
            for _ts, sid, det, size in entries[lo:]:
                if det <= now_ms:
                    recent.add(sid)
                    if det > newest or (det == newest and size > active):
                        newest, active = det, size
            if recent:
                out.append(Strain(key, frozenset(recent), active))
        return out

    def pressure(self, line: dict[str, str], now_ms: int) -> int:
        """Sessions of this line (edge, or ISP+region) whose trouble began within the window."""
        return max((len(s.sessions) for s in self.strains(line, now_ms)), default=0)
