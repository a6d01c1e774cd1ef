"""A bounded, in-memory ring of each session's recent telemetry (for the agent's chart).

Fed from the telemetry stream in the app process; when a case opens, the last
minutes are copied onto the case's timeline so they survive a restart.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from detectors.telemetry import (
    BadRecord,
    Disconnect,
    Join,
    Leave,
    Reconnect,
    Stats,
    TelemetryDecoder,
)

POINT_FIELDS: Final = ("ts", "rtt_ms", "loss_pct", "fps", "freeze_ms", "jitter_ms", "recv_kbps")
TeacherLookup = Callable[[str], str]


@dataclass(slots=True)
class SessionContext:
    """What the join told us about a session: who, device, app, line, lesson."""

    session_id: str
    student_id: str
    classroom_id: str
    device: str
    os: str
    app_version: str
    conn: str
    isp: str
    region: str
    edge: str
    teacher: str = "unknown"
    lesson_start: int | None = None
    lesson_end: int | None = None
    left: bool = False

    def line(self) -> dict[str, str]:
        """The line the class media travels on."""
        return {"edge": self.edge, "isp": self.isp, "region": self.region}

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "session_id": self.session_id, "student_id": self.student_id,
            "classroom_id": self.classroom_id, "device": self.device, "os": self.os,
            "app_version": self.app_version, "conn": self.conn, "line": self.line(),
            "teacher": self.teacher, "lesson_start": self.lesson_start,
            "lesson_end": self.lesson_end,
        }


WIDTH: Final = len(POINT_FIELDS)
INT_FIELDS: Final = frozenset({0, 4})  # ts and freeze_ms are whole milliseconds


class Points:
    """The last `cap` stats points of a session in one flat array of doubles (8 bytes each).

    A deque of tuples cost ~280 bytes a point (tuple, 7 float objects); 20,000 sessions of
    150 points were ~840 MB, now ~170 MB. The array is allocated whole when the session is
    first seen, so the desk's memory follows the sessions it tracks, not how long they have
    been in class (it does not creep up for the ring's first minutes, and never reallocates).
    """

    __slots__ = ("buf", "cap", "size", "start")

    def __init__(self, cap: int) -> None:
        self.cap = max(0, cap)
        self.buf = array("d", bytes(8 * WIDTH * self.cap))
        self.size = 0
        self.start = 0  # index of the oldest point once the ring is full

    def append(self, row: tuple[float, ...]) -> None:
        """Add a point (WIDTH values), dropping the oldest when full."""
        if self.cap <= 0:
            return
        if self.size < self.cap:
            i = ((self.start + self.size) % self.cap) * WIDTH
            self.size += 1
        else:
            i = self.start * WIDTH
            self.start = (self.start + 1) % self.cap
        self.buf[i:i + WIDTH] = array("d", row)

    def rows(self) -> Iterator[tuple[float, ...]]:
        """The points, oldest first."""
        buf = self.buf
        for k in range(self.size):
            j = ((self.start + k) % self.cap) * WIDTH
            yield tuple(buf[j:j + WIDTH])

    def __len__(self) -> int:
        return self.size


@dataclass(slots=True)
class _Session:
    context: SessionContext | None = None
    points: Points = field(default_factory=lambda: Points(150))
    marks: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=50))


def _teacher_from_join(raw: bytes) -> str | None:
    try:
        lesson = orjson.loads(raw).get("lesson") or {}
    except orjson.JSONDecodeError:
        return None
    teacher = lesson.get("teacher_id") if isinstance(lesson, dict) else None
    return str(teacher) if teacher else None


class TelemetryRing:
    """Recent stats (RTT, loss, fps, freezes) and reconnects per session, bounded in memory."""

    def __init__(self, points: int = 150, max_sessions: int = 20_000,
                 teacher_of: TeacherLookup | None = None) -> None:
        self.points = points
        self.max_sessions = max_sessions
        self.teacher_of = teacher_of
        self._sessions: OrderedDict[str, _Session] = OrderedDict()
        self._decoder = TelemetryDecoder()
        self._active: dict[tuple[str, str, str], int] = {}  # kept as telemetry arrives
        self._in_class = 0
        self.counts_version = 0  # moves whenever a count does (views built on them are stale)

    def _session(self, sid: str) -> _Session:
        s = self._sessions.get(sid)
        if s is None:
            s = self._sessions[sid] = _Session(points=Points(self.points))
            while len(self._sessions) > self.max_sessions:
                _, gone = self._sessions.popitem(last=False)
                self._count(gone.context, -1)
        else:
            self._sessions.move_to_end(sid)
        return s

    def _count(self, c: SessionContext | None, delta: int) -> None:
        """Move the live count of the context's line, if the session is in class."""
        if c is None or c.left:
            return
        key = (c.edge, c.isp, c.region)
        n = self._active.get(key, 0) + delta
        if n > 0:
            self._active[key] = n
        else:
            self._active.pop(key, None)
        if n >= 0:  # (a count never goes below 0)
            self._in_class += delta
            self.counts_version += 1

    def feed_raw(self, raws: Iterable[bytes]) -> None:
        """Take a batch of raw telemetry records (bad ones are ignored here)."""
        batch = list(raws)
        for raw, ev in zip(batch, self._decoder.decode_batch(batch), strict=True):
            if isinstance(ev, BadRecord):
                continue
            s = self._session(ev.session_id)
            if type(ev) is Stats:
                s.points.append((ev.ts, ev.rtt_ms, ev.loss_pct, ev.fps, ev.freeze_ms,
                                 ev.jitter_ms, ev.recv_kbps))
            elif type(ev) is Join:
                teacher = _teacher_from_join(raw) or (
                    self.teacher_of(ev.classroom_id) if self.teacher_of else "unknown")
                self._count(s.context, -1)
                s.context = SessionContext(
                    ev.session_id, ev.student_id, ev.classroom_id, ev.client.device,
                    ev.client.os, ev.client.app_version, ev.network.conn, ev.network.isp,
                    ev.network.region, ev.network.edge, teacher,
                    ev.lesson.scheduled_start if ev.lesson else None,
                    ev.lesson.scheduled_end if ev.lesson else None)
                self._count(s.context, +1)
                s.marks.append((ev.ts, "join"))
            elif type(ev) is Reconnect:
                s.marks.append((ev.ts, "reconnect_ok" if ev.ok else "reconnect"))
            elif type(ev) is Disconnect:
                s.marks.append((ev.ts, "disconnect"))
            elif type(ev) is Leave:
                s.marks.append((ev.ts, "leave"))
                if s.context is not None:
                    self._count(s.context, -1)
                    s.context.left = True

    def clear(self) -> None:
        """Forget every session (as after a restart)."""
        self._sessions.clear()
        self._active.clear()
        self._in_class = 0
        self.counts_version += 1

    def context(self, session_id: str) -> SessionContext | None:
        """The session's join context, if seen."""
        s = self._sessions.get(session_id)
        return None if s is None else s.context

    def series(self, session_id: str, since: int | None = None) -> dict[str, Any]:
        """The session's recent stats as columns, and its reconnect/disconnect marks."""
        s = self._sessions.get(session_id)
        if s is None:
            return {"points": {k: [] for k in POINT_FIELDS}, "marks": []}
        pts = [p for p in s.points.rows() if since is None or p[0] >= since]
        return {
            "points": {k: [int(p[i]) if i in INT_FIELDS else p[i] for p in pts]
                       for i, k in enumerate(POINT_FIELDS)},
            "marks": [{"ts": t, "type": k} for t, k in s.marks if since is None or t >= since],
        }

    def active_by_line(self) -> dict[tuple[str, str, str], int]:
        """Sessions joined and not left, by (edge, isp, region): counted as telemetry arrives."""
        return dict(self._active)

    def in_class(self) -> int:
        """Sessions joined and not left (kept as telemetry arrives, not a scan)."""
        return self._in_class

    def count_active_by_line(self) -> dict[tuple[str, str, str], int]:
        """The same counts by a scan of every session (the reference for tests)."""
        out: dict[tuple[str, str, str], int] = {}
        for s in self._sessions.values():
            c = s.context
            if c is not None and not c.left:
                key = (c.edge, c.isp, c.region)
                out[key] = out.get(key, 0) + 1
        return out
