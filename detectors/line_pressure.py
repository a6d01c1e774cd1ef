"""Line pressure: how many sessions of a line went into trouble lately, as known at a time.

The outreach policy asks it before contacting a family (`line_wait_ms`): when
others on the same line are in trouble too, the line verdict may be coming.
Fed with episode starts (line key, start time, session, detection time), from
the session engine in replay and the demo, and from the line correlator's
verdict topic on the Kafka workers, it answers the same in both: a start counts
at `now` only once it was detected (`detected_at <= now`), whatever order the
starts arrived in.
"""

from __future__ import annotations

from bisect import bisect_left, insort

from detectors.config import DetectionConfig

_KEEP_MS = 3_600_000  # starts kept behind the newest detection (queries trail by far less)


class LinePressure:
    """Episode starts per line key, and the pressure a decision at a time sees."""

    def __init__(self, config: DetectionConfig) -> None:
        self.window_ms = config.line_window_ms + config.silence_ms
        self.starts: dict[str, list[tuple[int, str, int]]] = {}
        self.newest = 0

    def add(self, key: str, ts: int, session_id: str, detected_at: int) -> None:
        """An episode of `session_id` began at `ts` on line `key`, detected at `detected_at`."""
        entries = self.starts.get(key)
        if entries is None:
            entries = self.starts[key] = []
        entry = (ts, session_id, detected_at)
        i = bisect_left(entries, entry)
        if i < len(entries) and entries[i] == entry:
            return  # the same start again (a rebuilt partition, a second copy)
        insort(entries, entry)
        if detected_at > self.newest:
            self.newest = detected_at
            horizon = detected_at - _KEEP_MS
            while entries and entries[0][0] < horizon:
                del entries[0]

    def pressure(self, line: dict[str, str], now_ms: int) -> int:
        """Sessions of this line (edge, or ISP+region) whose trouble began within the window."""
        keys = (f"edge:{line.get('edge', '')}",
                f"isp:{line.get('isp', '')}/{line.get('region', '')}")
        horizon = now_ms - self.window_ms
        worst = 0
        for key in keys:
            entries = self.starts.get(key)
            if not entries:
                continue
            lo = bisect_left(entries, (horizon,))
            recent = {sid for _ts, sid, det in entries[lo:] if det <= now_ms}
            worst = max(worst, len(recent))
        return worst
