"""Line incidents: many sessions on one edge, or one ISP+region, in trouble at once.

Fed with session findings (joins, leaves, episode starts and ends), keyed by
line. A line qualifies when, within a sliding `line_window_ms` over episode
start times, at least `line_min_sessions` distinct sessions and at least
`line_min_share` of the line's active sessions, in at least
`line_min_classrooms` classrooms, went into lag or disconnect. The incident
stays open while at least `line_min_sessions` of its sessions are still in an
episode; a new qualifying window within `line_rejoin_ms` of its end joins it.

Bounded records: the `open` names the sessions of the qualifying window; later sessions
are told in `update`s coalesced to at most one per `line_update_interval_ms` (the first
change after a quiet interval at once), each naming only the sessions added since the
previous record, at most `line_update_max_sessions` (more: another update at once). The
`closed` names the last ones added; every record carries `session_count`.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable
from typing import Any

from detectors.config import DetectionConfig
from detectors.findings import Finding
from detectors.line_related import EdgeBook, related_edge
from detectors.records import Incident, incident_id_for, line_id


class LineIncidentState:
    """An open (or closing) line incident."""

    __slots__ = ("detected_at", "evidence", "flush_due", "incident_id", "last_emit", "members",
                 "pending", "started_at", "winding_down_since")

    def __init__(self, incident_id: str, started_at: int, detected_at: int,
                 sessions: list[str], evidence: dict[str, Any]) -> None:
        self.incident_id = incident_id
        self.started_at = started_at
        self.detected_at = detected_at
        self.members = set(sessions)
        self.evidence = evidence
        self.winding_down_since: int | None = None
        self.pending: list[str] = []  # members added since the last record, in order
        self.last_emit = detected_at  # event time of the last record
        self.flush_due: int | None = None  # event time of the coalesced update, if waiting


class LineState:
    """Membership, episodes and recent episode starts of one line."""

    __slots__ = ("active", "in_episode", "incident", "key", "line", "starts")

    def __init__(self, line: dict[str, str], key: str = "") -> None:
        self.line = line
        self.key = key
        self.active: dict[str, str] = {}
        self.in_episode: dict[str, int] = {}
        self.starts: list[tuple[int, str, str, str]] = []
        self.incident: LineIncidentState | None = None

    def sessions_in_episode(self, members: set[str]) -> int:
        """How many of `members` are still in lag or disconnect."""
        return sum(1 for sid in members if self.in_episode.get(sid, 0) > 0)


def _line_of(key: str, f: Finding) -> dict[str, str]:
    if key.startswith("edge:"):
        return {"edge": f.edge}
    return {"isp": f.isp, "region": f.region}


class LineCorrelator:
    """Turns per-session findings into line incidents."""

    def __init__(self, config: DetectionConfig, on_incident: Callable[[Incident], None]) -> None:
        self.cfg = config
        self.on_incident = on_incident
        self.lines: dict[str, LineState] = {}
        self.now = 0
        self._winding: set[str] = set()
        self.edges = EdgeBook()  # the edge of each session (an ISP line may ride on one)
        self._flushing: set[str] = set()  # lines with a coalesced update waiting
        # While a coalesced update is handed out: the event time it stands for (a consumer
        # orders it by that time, however late the advance that sent it came).
        self.flush_at: int | None = None

    def feed(self, f: Finding, keys: tuple[str, ...] | None = None) -> None:
        """Take one finding of a session, for `keys` (default: both of its lines).

        Incidents already due to close are closed first, so a late finding cannot
        join an incident that had ended.
        """
        self.advance(max(f.ts, f.detected_at))
        self.edges.take(f)
        for key in f.line_keys if keys is None else keys:
            ls = self.lines.get(key)
            if ls is None:
                ls = self.lines[key] = LineState(_line_of(key, f), key)
            self._apply(key, ls, f)
        self.advance(self.now)

    def active_sessions(self, key: str) -> int:
        """Sessions on line `key` now (joined, not yet left)."""
        ls = self.lines.get(key)
        return 0 if ls is None else len(ls.active)

    def next_due(self) -> int:
        """Event time of the next line incident that may close or update (far future if none)."""
        due = 1 << 62
        for key in self._winding:
            inc = self.lines[key].incident
            if inc is not None and inc.winding_down_since is not None:
                due = min(due, inc.winding_down_since + self.cfg.line_rejoin_ms)
        for key in self._flushing:
            inc = self.lines[key].incident
            if inc is not None and inc.flush_due is not None:
                due = min(due, inc.flush_due)
        return due

    def advance(self, now_ms: int) -> None:
        """Close line incidents whose rejoin grace has passed by `now_ms`; send due updates."""
        if now_ms > self.now:
            self.now = now_ms
        if not self._winding and not self._flushing:
            return
        for key in sorted(self._winding | self._flushing):
            ls = self.lines[key]
            inc = ls.incident
            if inc is None:
                self._winding.discard(key)
                self._flushing.discard(key)
                continue
            if inc.winding_down_since is None:
                self._winding.discard(key)
            if (
                inc.winding_down_since is not None
                and self.now >= inc.winding_down_since + self.cfg.line_rejoin_ms
            ):
                while len(inc.pending) > self.cfg.line_update_max_sessions:
                    self._emit(ls, inc, "update", None)
                self._emit(ls, inc, "closed", inc.winding_down_since)  # with what was pending
                ls.incident = None
                self._winding.discard(key)
                self._flushing.discard(key)
            elif inc.flush_due is not None and self.now >= inc.flush_due:
                self.flush_at = inc.flush_due
                self._emit(ls, inc, "update", None, at=inc.flush_due)
                self.flush_at = None

    # ------------------------------------------------------------------
    def _apply(self, key: str, ls: LineState, f: Finding) -> None:
        sid = f.session_id
        kind = f.kind
        if kind == "join":
            ls.active[sid] = f.classroom_id
        elif kind == "leave":
            ls.active.pop(sid, None)
            if ls.in_episode.pop(sid, 0):
                self._maybe_wind_down(key, ls, f.ts)
        elif kind == "episode_start":
            ls.in_episode[sid] = ls.in_episode.get(sid, 0) + 1
            entry = (f.ts, sid, f.classroom_id, f.episode)
            if entry not in ls.starts:
                insort(ls.starts, entry)
            horizon = f.detected_at - 3 * self.cfg.line_window_ms
            while ls.starts and ls.starts[0][0] < horizon:
                del ls.starts[0]
            inc = ls.incident
            if inc is not None:
                self._grow(key, ls, inc, sid, f)
            else:
                self._maybe_open(ls, f)
        elif kind == "episode_end":
            n = ls.in_episode.get(sid, 0) - 1
            if n > 0:
                ls.in_episode[sid] = n
            else:
                ls.in_episode.pop(sid, None)
            self._maybe_wind_down(key, ls, f.ts)

    def _maybe_open(self, ls: LineState, f: Finding) -> None:
        """Open a line incident if a window holding this start qualifies (linear time)."""
        cfg = self.cfg
        starts = ls.starts
        w = cfg.line_window_ms
        lo = bisect_left(starts, (f.ts - w,))
        per_session: dict[str, int] = {}
        per_room: dict[str, int] = {}
        j = lo
        for i in range(lo, len(starts)):
            t0 = starts[i][0]
            if t0 > f.ts:
                break
            while j < len(starts) and starts[j][0] <= t0 + w:
                _, sid, room, _ep = starts[j]
                per_session[sid] = per_session.get(sid, 0) + 1
                if per_session[sid] == 1:
                    per_room[room] = per_room.get(room, 0) + 1
                j += 1
            n = len(per_session)
            active = max(len(ls.active), n)
            if (
                n >= cfg.line_min_sessions
                and n >= cfg.line_min_share * active
                and len(per_room) >= cfg.line_min_classrooms
            ):
                sessions: dict[str, str] = {}
                kinds: dict[str, int] = {}
                for _t, sid, room, episode in starts[i:j]:
                    if sid not in sessions:
                        sessions[sid] = room
                        kinds[episode] = kinds.get(episode, 0) + 1
                rooms = len(per_room)
                members = sorted(sessions)
                iid = incident_id_for("line", line_id(ls.line), t0)
                evidence = {
                    "rule": (
                        f">= {cfg.line_min_sessions} sessions and >= "
                        f"{cfg.line_min_share:.0%} of the line within "
                        f"{w // 1000} s, in >= {cfg.line_min_classrooms} classrooms"
                    ),
                    "sessions_in_window": n,
                    "active_sessions": active,
                    "share": round(n / active, 3),
                    "classrooms": rooms,
                    "episodes": kinds,
                    "window_ms": w,
                }
                inc = LineIncidentState(iid, t0, max(f.detected_at, f.ts), members, evidence)
                ls.incident = inc
                self._emit(ls, inc, "open", None)
                return
            _, sid, room, _ep = starts[i]
            left = per_session[sid] - 1
            if left:
                per_session[sid] = left
            else:
                del per_session[sid]
                per_room[room] -= 1
                if not per_room[room]:
                    del per_room[room]

    def _grow(self, key: str, ls: LineState, inc: LineIncidentState, sid: str, f: Finding) -> None:
        changed = False
        if sid not in inc.members:
            inc.members.add(sid)
            inc.pending.append(sid)
            changed = True
        if (
            inc.winding_down_since is not None
            and ls.sessions_in_episode(inc.members) >= self.cfg.line_min_sessions
        ):
            inc.winding_down_since = None
            self._winding.discard(key)
            changed = True
        if changed:
            inc.evidence = {**inc.evidence, "sessions_affected": len(inc.members)}
            self._coalesce(key, ls, inc, max(f.ts, f.detected_at))

    def _coalesce(self, key: str, ls: LineState, inc: LineIncidentState, t: int) -> None:
        """Send the update now (a quiet interval before `t`, or a full record), or book it."""
        cfg = self.cfg
        due = inc.last_emit + cfg.line_update_interval_ms
        if len(inc.pending) >= cfg.line_update_max_sessions or t >= due:
            self._emit(ls, inc, "update", None, at=t)
        elif inc.flush_due is None:
            inc.flush_due = due
            self._flushing.add(key)

    def _maybe_wind_down(self, key: str, ls: LineState, ts: int) -> None:
        inc = ls.incident
        if inc is None or inc.winding_down_since is not None:
            return
        if ls.sessions_in_episode(inc.members) < self.cfg.line_min_sessions:
            inc.winding_down_since = ts
            self._winding.add(key)

    def _emit(self, ls: LineState, inc: LineIncidentState, state: Any, ended: int | None,
              at: int | None = None) -> None:
        """One record; `at`: the event time it stands for (its interval counts from there)."""
        related = related_edge(ls.line, inc.members, self.edges.edge_of,
                               self.cfg.line_related_share)
        if related:
            inc.evidence = {**inc.evidence, **related}
        if state == "open":
            named = sorted(inc.members)
        else:
            named = inc.pending[: self.cfg.line_update_max_sessions]
            del inc.pending[: len(named)]
        inc.last_emit = max(inc.last_emit, self.now if at is None else at)
        if not inc.pending:
            inc.flush_due = None
            self._flushing.discard(ls.key)
        self.on_incident(
            Incident(
                incident_id=inc.incident_id,
                kind="line",
                state=state,
                started_at=inc.started_at,
                detected_at=inc.detected_at,
                ended_at=ended,
                line=dict(ls.line),
                evidence=dict(inc.evidence),
                sessions=named,
                session_count=len(inc.members) - len(inc.pending),
            )
        )
