"""The session engine: per-session detectors driven by event time.

Feed it decoded telemetry in arrival order; it keeps one small state per
session, runs the lag, disconnect and flapping detectors, and reports incident
records and line findings through callbacks. Time comes only from events and
from :meth:`SessionEngine.advance` (a watermark in replay, the wall clock live),
never from the machine's clock, so every decision is reproducible.
"""

from __future__ import annotations

import heapq
import sys
from collections.abc import Callable
from typing import Any, Final

from detectors.config import DetectionConfig
from detectors.disconnect import (
    CONNECTED,
    DISCONNECTED,
    LEFT,
    RECONNECTING,
    event_evidence,
    reconnect_evidence,
    silence_evidence,
)
from detectors.findings import Finding, SessionContext
from detectors.flapping import FlapState
from detectors.lag import (
    AUDIO_STALL,
    FREEZE,
    IV_SHIFT,
    LOSS,
    LOW_FPS,
    RTT,
    TS_SHIFT,
    LagState,
    entry_start,
    entry_ts,
    pack,
)
from detectors.records import Incident, incident_id_for
from detectors.telemetry import Disconnect, Event, Heartbeat, Join, Leave, Reconnect, Stats

_NEVER: Final = 1 << 62
_FLAGS: Final = 0x1F
_BUCKET_MS: Final = 1000
_UNKNOWN: Final = ""

IncidentSink = Callable[[Incident], None]
FindingSink = Callable[[Finding], None]


class Session:
    """Everything the detectors keep about one session (kept small: many are live)."""

    __slots__ = (
        "check_key",
        "ctx",
        "disc_cause",
        "disc_detected",
        "disc_id",
        "disc_start",
        "flap",
        "lag",
        "lag_detected",
        "last_conn_ts",
        "last_ts",
        "left_ts",
        "offset",
        "pending_conn",
        "recon_attempts",
        "recon_start",
        "session_id",
        "status",
    )

    def __init__(self, session_id: str, ctx: SessionContext, ts: int) -> None:
        self.session_id = session_id
        self.ctx = ctx
        self.status = CONNECTED
        self.last_ts = ts
        self.last_conn_ts = 0
        self.offset = _NEVER
        self.check_key = 0
        self.lag = LagState()
        self.lag_detected = 0
        self.disc_id = ""
        self.disc_start = 0
        self.disc_detected = 0
        self.disc_cause: dict[str, Any] | None = None
        self.recon_start = 0
        self.recon_attempts = 0
        self.pending_conn = 0
        self.flap: FlapState | None = None
        self.left_ts = 0

    @property
    def in_episode(self) -> bool:
        """True while the session is in lag or disconnected (what line incidents count)."""
        return bool(self.lag.incident_id or self.disc_id)


def context_of(event: Event) -> SessionContext:
    """The session context carried by a join (or an unknown one)."""
    intern = sys.intern  # shared labels: one copy per distinct value, not per session
    if isinstance(event, Join):
        n, c = event.network, event.client
        return SessionContext(
            student_id=event.student_id,
            classroom_id=intern(event.classroom_id),
            edge=intern(n.edge),
            isp=intern(n.isp),
            region=intern(n.region),
            device=intern(c.device),
            app_version=intern(c.app_version),
            conn=intern(n.conn),
        )
    return SessionContext(event.student_id, intern(event.classroom_id), _UNKNOWN, _UNKNOWN,
                          _UNKNOWN)


class SessionEngine:
    """Runs the per-session detectors over a stream of telemetry events."""

    def __init__(
        self,
        config: DetectionConfig,
        on_incident: IncidentSink,
        on_finding: FindingSink | None = None,
        on_session: Callable[[str], None] | None = None,
    ) -> None:
        self.cfg = config
        self.on_incident = on_incident
        self.on_finding = on_finding
        self.on_session = on_session  # told each time a session starts being tracked
        self.sessions: dict[str, Session] = {}
        self.now = 0
        self.position = -1  # index in the batch of the event being fed (-1: none, or a timer)
        self.counters: dict[str, int] = {
            "duplicates_or_late": 0,
            "events_after_leave": 0,
            "sessions_expired": 0,
            "events_without_join": 0,
        }
        self._wheel: dict[int, list[Session]] = {}
        self._keys: list[int] = []
        self._next_fire = _NEVER
        # Hot-path constants.
        c = config
        self._lag_n = c.lag_window
        self._lag_min = c.lag_min_degraded
        self._lag_cap = c.lag_window + max(1, -(-c.lateness_ms // 2000))
        self._recon_limit = c.reconnect_timeout_ms + c.reconnect_grace_ms
        self._silence = c.silence_ms
        self._freeze = c.freeze_share
        self._astall = c.audio_stall_share
        self._fps = c.min_fps
        self._loss = c.max_loss_pct
        self._rtt = c.max_rtt_ms

    # ------------------------------------------------------------------ input
    def feed(self, ev: Event, arrival_ms: int | None = None) -> None:
        """Process one event; `arrival_ms` is the wall clock live, None in replay."""
        ts = ev.ts
        if arrival_ms is None:
            if ts > self.now:
                self.now = ts
            arrival_ms = self.now
        s = self.sessions.get(ev.session_id)
        if s is None:
            s = self._new_session(ev)
            if s is None:
                return
            if type(ev) is Join:
                s.offset = arrival_ms - ts
                if self.now >= self._next_fire:
                    self._fire()
                return
        d = arrival_ms - ts
        if d < s.offset:
            s.offset = d
        st = s.status
        if st == CONNECTED:
            if ts - s.last_ts >= self._silence:
                self._went_silent(s)  # the gap is plain from this event alone
        elif st == RECONNECTING and ts - s.recon_start > self._recon_limit:
            self._reconnect_failed(s)
        t = type(ev)
        if t is Stats:
            self._stats(s, ev)  # type: ignore[arg-type]
        elif t is Heartbeat:
            self._connected(s, ts)
        elif t is Reconnect:
            self._reconnect(s, ev)  # type: ignore[arg-type]
        elif t is Disconnect:
            self._disconnect(s, ev)  # type: ignore[arg-type]
        elif t is Leave:
            self._leave(s, ts)
        elif t is Join:
            self._join(s, ev)  # type: ignore[arg-type]
        if self.now >= self._next_fire:
            self._fire()

    def feed_batch(self, events: list[Event], arrivals: list[int] | None = None) -> None:
        """Process events in order (`arrivals`: one per event live, None in replay).

        While an event and the timers it fires are processed, :attr:`position` is its
        index in `events`; a sink can use it to find the record the event came from.
        """
        if arrivals is not None and len(arrivals) != len(events):
            raise ValueError("one arrival time per event")
        try:
            if arrivals is None:
                for i, ev in enumerate(events):
                    self.position = i
                    self.feed(ev)
            else:
                for i, ev in enumerate(events):
                    self.position = i
                    self.feed(ev, arrivals[i])
        finally:
            self.position = -1  # also when a sink raised: no stale index afterwards

    def advance(self, now_ms: int) -> None:
        """Move the clock to `now_ms` and run every timer that is due."""
        if now_ms > self.now:
            self.now = now_ms
        if self.now >= self._next_fire:
            self._fire()

    def finish(self) -> None:
        """End of input: nothing is forced closed (an open problem stays open)."""

    # --------------------------------------------------------------- sessions
    def _new_session(self, ev: Event) -> Session | None:
        if type(ev) is Leave:
            self.counters["events_after_leave"] += 1
            return None
        ctx = context_of(ev)
        if not ctx.known_line:
            self.counters["events_without_join"] += 1
        s = Session(ev.session_id, ctx, ev.ts)
        self.sessions[ev.session_id] = s
        if self.on_session is not None:
            self.on_session(ev.session_id)
        self._emit_finding(s, "join", ev.ts)
        self._schedule(s, ev.ts + self.cfg.silence_ms + max(self.now - ev.ts, 0))
        return s

    def _join(self, s: Session, ev: Join) -> None:
        ts = ev.ts
        ctx = context_of(ev)
        if s.status == LEFT:
            if ts <= s.left_ts:
                self.counters["events_after_leave"] += 1
                return
            s.ctx = ctx
            self._revive(s, ts)
            return
        if ts > s.last_ts:
            s.last_ts = ts
        if ctx != s.ctx:
            old = s.ctx
            moved = (ctx.edge, ctx.isp, ctx.region) != (old.edge, old.isp, old.region)
            if moved:
                self._emit_finding(s, "leave", ts)
            s.ctx = ctx
            if moved:
                self._emit_finding(s, "join", ts)

    # ------------------------------------------------------------------ stats
    def _stats(self, s: Session, ev: Stats) -> None:
        ts = ev.ts
        if s.status != CONNECTED:
            if s.status == LEFT:
                if ts <= s.left_ts:
                    self.counters["events_after_leave"] += 1
                    return
                self._revive(s, ts)
            else:
                self._connected(s, ts)
        else:
            if ts > s.last_ts:
                s.last_ts = ts
            if ts > s.last_conn_ts:
                s.last_conn_ts = ts
        iv = ev.interval_ms
        f = 0
        if ev.freeze_ms >= self._freeze * iv:
            f = FREEZE
        if ev.audio_stall_ms >= self._astall * iv:
            f |= AUDIO_STALL
        if ev.fps < self._fps and ev.recv_kbps > 0:
            f |= LOW_FPS
        if ev.loss_pct > self._loss:
            f |= LOSS
        if ev.rtt_ms > self._rtt:
            f |= RTT
        lag = s.lag
        n = self._lag_n
        w = lag.window
        entry = (ts << TS_SHIFT) | (iv << IV_SHIFT) | f
        if not w or ts > w[-1] >> TS_SHIFT:
            # In order (the usual case): append without the general path's search.
            w.append(entry)
            if f:
                lag.degraded += 1
            k = len(w)
            if k > n and w[k - n - 1] & _FLAGS:
                lag.degraded -= 1
            if k > self._lag_cap:
                del w[0]
        else:
            at = lag.add(entry, n, self._lag_cap)
            if at < 0:
                self.counters["duplicates_or_late"] += 1
                return
            if at != len(w) - 1:
                self._late_interval(s, at)
                return
        if lag.incident_id:
            if f:
                lag.last_degraded_ts = ts
            elif lag.degraded == 0 and len(lag.window) >= n:
                self._close_lag(s, ts)
        elif lag.degraded >= self._lag_min:
            last = len(w) - 1
            self._open_lag(s, max(0, last - n + 1), last)

    def _late_interval(self, s: Session, at: int) -> None:
        """A stats interval arrived after newer ones: judge every window it belongs to."""
        lag = s.lag
        w = lag.window
        n = self._lag_n
        if not lag.incident_id:
            found = lag.qualifying(at, at + n - 1, n, self._lag_min)
            if found is not None:
                self._open_lag(s, *found)
            return
        end = lag.first_clean_window(at, n)
        if end is None:
            last = lag.last_degraded(0, len(w) - 1)
            if last and entry_ts(last) > lag.last_degraded_ts:
                lag.last_degraded_ts = entry_ts(last)
            return
        start = end - n + 1
        before = lag.last_degraded(0, start - 1) if start > 0 else 0
        if before:
            lag.last_degraded_ts = entry_ts(before)
        self._close_lag(s, entry_ts(w[end]))
        found = lag.qualifying(end + 1, len(w) - 1, n, self._lag_min)
        if found is not None:
            self._open_lag(s, *found)

    def _open_lag(self, s: Session, start: int, end: int) -> None:
        lag = s.lag
        started = entry_start(lag.first_degraded(start, end))
        detected = entry_ts(lag.window[end])
        lag.started_at = started
        lag.last_degraded_ts = entry_ts(lag.last_degraded(start, len(lag.window) - 1))
        lag.incident_id = incident_id_for("lag", s.session_id, started)
        s.lag_detected = detected
        self._emit(s, "lag", lag.incident_id, "open", started, detected, None,
                   lag.evidence(self.cfg, start, end))
        self._episode(s, "episode_start", started, detected, "lag", lag.incident_id)

    def _close_lag(self, s: Session, now_ts: int) -> None:
        lag = s.lag
        iid = lag.incident_id
        ended = lag.last_degraded_ts
        lag.incident_id = ""
        self._emit(
            s, "lag", iid, "closed", lag.started_at, s.lag_detected, ended,
            {"closed_by": "clean intervals" if s.status != LEFT else "leave", "closed_at": now_ts},
        )
        self._episode(s, "episode_end", ended, now_ts, "lag", iid)

    # ------------------------------------------------------------ connection
    def _connected(self, s: Session, ts: int) -> None:
        """A stats or heartbeat: the session has media (or is connected without it)."""
        if ts > s.last_ts:
            s.last_ts = ts
        if ts > s.last_conn_ts:
            s.last_conn_ts = ts
        st = s.status
        if st == DISCONNECTED:
            if ts > s.disc_start:
                self._close_disconnect(s, ts)
                s.status = CONNECTED
                self._end_drop(s, ts)
                self._schedule(s, ts + self.cfg.silence_ms + s.offset)
        elif st == RECONNECTING:
            if ts >= s.recon_start:
                if ts - s.recon_start <= self.cfg.reconnect_timeout_ms:
                    self._reconnected(s, ts)
                elif not s.pending_conn or ts < s.pending_conn:
                    # Media is back, but late: an in-time `ok` may still be on its way.
                    s.pending_conn = ts
        elif st == LEFT and ts > s.left_ts:
            self._revive(s, ts)

    def _reconnected(self, s: Session, ts: int) -> None:
        """The reconnect sequence ended in time: connected again."""
        s.status = CONNECTED
        s.pending_conn = 0
        self._end_drop(s, ts)
        self._schedule(s, ts + self.cfg.silence_ms + s.offset)

    def _revive(self, s: Session, ts: int) -> None:
        """Media from a session that had left: it is back without a join."""
        s.status = CONNECTED
        s.last_ts = ts
        s.last_conn_ts = ts
        s.lag.reset()
        self._emit_finding(s, "join", ts)
        self._schedule(s, ts + self.cfg.silence_ms + s.offset)

    def _reconnect(self, s: Session, ev: Reconnect) -> None:
        ts = ev.ts
        st = s.status
        if st == LEFT:
            if ts <= s.left_ts:
                self.counters["events_after_leave"] += 1
                return
            self._revive(s, ts)
            st = CONNECTED
        if ts > s.last_ts:
            s.last_ts = ts
        last_end = s.flap.last_end if s.flap else 0
        if not ev.ok:
            if st == CONNECTED:
                if ts < s.last_conn_ts or ts <= last_end:
                    # Late attempt of a sequence that already ended.
                    f = s.flap
                    if ts > last_end:
                        self._start_drop(s, ts, ts)
                        self._end_drop(s, s.last_conn_ts)
                    elif f is not None and f.starts and ts < f.starts[-1]:
                        f.move_start(f.starts[-1], ts)
                    return
                s.status = RECONNECTING
                s.recon_start = ts
                s.recon_attempts = 1
                self._start_drop(s, ts, ts)
                self._schedule(s, ts + self.cfg.reconnect_timeout_ms + 1 + s.offset)
            elif st == RECONNECTING:
                s.recon_attempts += 1
                if ts < s.recon_start:
                    if s.flap is not None:
                        s.flap.move_start(s.recon_start, ts)
                    s.recon_start = ts
        elif st == RECONNECTING:
            if ts >= s.recon_start:
                if ts - s.recon_start <= self.cfg.reconnect_timeout_ms:
                    self._reconnected(s, ts)
                else:
                    self._reconnect_failed(s)
        elif st == CONNECTED and ts > last_end:
            # A reconnect that succeeded at once is still a drop.
            self._start_drop(s, ts, ts)
            self._end_drop(s, ts)

    def _disconnect(self, s: Session, ev: Disconnect) -> None:
        ts = ev.ts
        st = s.status
        if st == LEFT:
            if ts <= s.left_ts:
                self.counters["events_after_leave"] += 1
                return
            self._revive(s, ts)
            st = CONNECTED
        if ts == s.disc_start or st == DISCONNECTED:
            return
        if ts > s.last_ts:
            s.last_ts = ts
        if ts < s.last_conn_ts:
            # Arrived after the media that ended it: a disconnect already over.
            ended = self._first_conn_after(s, ts)
            self._open_disconnect(s, ts, ts, event_evidence(ev.reason))
            self._close_disconnect(s, ended)
            last_end = s.flap.last_end if s.flap else 0
            if ts > last_end:
                self._start_drop(s, ts, ts)
                self._end_drop(s, ended)
            return
        self._open_disconnect(s, ts, ts, event_evidence(ev.reason))
        if st == CONNECTED:
            self._start_drop(s, ts, ts)
        s.status = DISCONNECTED
        self._schedule(s, ts + self.cfg.session_ttl_ms + s.offset)

    def _first_conn_after(self, s: Session, ts: int) -> int:
        for e in s.lag.window:
            if e >> TS_SHIFT > ts:
                return e >> TS_SHIFT
        return s.last_conn_ts

    def _open_disconnect(
        self, s: Session, started: int, detected: int, evidence: dict[str, Any]
    ) -> None:
        iid = incident_id_for("disconnect", s.session_id, started)
        s.disc_id = iid
        s.disc_start = started
        s.disc_detected = detected
        s.disc_cause = evidence
        self._emit(s, "disconnect", iid, "open", started, detected, None, evidence)
        self._episode(s, "episode_start", started, detected, "disconnect", iid)

    def _close_disconnect(self, s: Session, ended: int) -> None:
        iid = s.disc_id
        if not iid:
            return
        s.disc_id = ""
        self._emit(
            s, "disconnect", iid, "closed", s.disc_start, s.disc_detected, ended,
            s.disc_cause or {},
        )
        self._episode(s, "episode_end", ended, ended, "disconnect", iid)

    def _leave(self, s: Session, ts: int) -> None:
        if s.status == LEFT:
            return
        if ts > s.last_ts:
            s.last_ts = ts
        if s.lag.incident_id:
            self._close_lag(s, ts)
        s.lag.reset()
        if s.disc_id:
            self._close_disconnect(s, ts)
        if s.status != CONNECTED:
            self._end_drop(s, ts)
        f = s.flap
        if f is not None and f.incident_id:
            self._close_flapping(s, f.last_end or ts)
        s.status = LEFT
        s.left_ts = ts
        self._emit_finding(s, "leave", ts)
        self._schedule(s, ts + self.cfg.left_ttl_ms + s.offset)

    # --------------------------------------------------------------- flapping
    def _start_drop(self, s: Session, start: int, detected: int) -> None:
        f = s.flap
        if f is None:
            f = s.flap = FlapState()
        first = f.add_drop(start, self.cfg)
        if first is not None:
            f.incident_id = incident_id_for("flapping", s.session_id, first)
            f.started_at = first
            f.detected_at = detected
            self._emit(
                s, "flapping", f.incident_id, "open", first, detected, None,
                f.evidence(self.cfg),
            )

    def _end_drop(self, s: Session, end: int) -> None:
        if s.flap is not None:
            s.flap.end_drop(end)

    def _close_flapping(self, s: Session, ended: int) -> None:
        f = s.flap
        assert f is not None
        iid = f.incident_id
        f.incident_id = ""
        self._emit(
            s, "flapping", iid, "closed", f.started_at, f.detected_at, ended,
            f.evidence(self.cfg),
        )

    # ----------------------------------------------------------------- timers
    def _schedule(self, s: Session, at: int) -> None:
        key = -(-at // _BUCKET_MS)
        if s.check_key and s.check_key <= key:
            return
        s.check_key = key
        bucket = self._wheel.get(key)
        if bucket is None:
            self._wheel[key] = [s]
            heapq.heappush(self._keys, key)
            if key * _BUCKET_MS < self._next_fire:
                self._next_fire = key * _BUCKET_MS
        else:
            bucket.append(s)

    def _fire(self) -> None:
        keys = self._keys
        limit = self.now
        while keys and keys[0] * _BUCKET_MS <= limit:
            key = heapq.heappop(keys)
            for s in self._wheel.pop(key):
                if s.check_key == key:
                    s.check_key = 0
                    self._check(s)
        self._next_fire = keys[0] * _BUCKET_MS if keys else _NEVER

    def _check(self, s: Session) -> None:
        """A timer of `s` is due: silence, reconnect timeout, flapping end, expiry."""
        cfg = self.cfg
        now_s = self.now - s.offset
        st = s.status
        nxt = _NEVER
        if st == CONNECTED:
            deadline = s.last_ts + cfg.silence_ms
            if now_s >= deadline:
                self._went_silent(s)
                nxt = s.last_ts + cfg.session_ttl_ms
            else:
                nxt = deadline
        elif st == RECONNECTING:
            # `ok` may come up to the rule's end inclusive: wait out a grace for it.
            deadline = s.recon_start + cfg.reconnect_timeout_ms + cfg.reconnect_grace_ms
            if now_s > deadline:
                self._reconnect_failed(s)
                nxt = s.last_ts + cfg.session_ttl_ms
            else:
                nxt = deadline + 1
        elif st == DISCONNECTED:
            if now_s - s.last_ts >= cfg.session_ttl_ms:
                self._expire(s)
                return
            nxt = s.last_ts + cfg.session_ttl_ms
        else:  # LEFT
            if now_s - s.left_ts >= cfg.left_ttl_ms:
                del self.sessions[s.session_id]
                return
            nxt = s.left_ts + cfg.left_ttl_ms
        f = s.flap
        if f is not None:
            if f.incident_id:
                end_at = f.last_end + cfg.flap_window_ms
                if s.status == CONNECTED and now_s >= end_at:
                    self._close_flapping(s, f.last_end)
                elif s.status == CONNECTED:
                    nxt = min(nxt, end_at)
            elif f.idle(now_s, cfg):
                s.flap = None
        if nxt != _NEVER:
            self._schedule(s, nxt + s.offset)

    def _went_silent(self, s: Session) -> None:
        """No event for `silence_ms`: a disconnect from the last event."""
        deadline = s.last_ts + self.cfg.silence_ms
        self._open_disconnect(s, s.last_ts, deadline,
                              silence_evidence(s.last_ts, self.cfg.silence_ms))
        self._start_drop(s, s.last_ts, deadline)
        s.status = DISCONNECTED

    def _reconnect_failed(self, s: Session) -> None:
        """No `ok` within the reconnect timeout: a disconnect from the first attempt."""
        cfg = self.cfg
        self._open_disconnect(
            s, s.recon_start, s.recon_start + cfg.reconnect_timeout_ms,
            reconnect_evidence(s.recon_start, s.recon_attempts, cfg.reconnect_timeout_ms),
        )
        s.status = DISCONNECTED
        back = s.pending_conn
        if back:  # media had already come back: the disconnect ended then
            self._close_disconnect(s, back)
            self._reconnected(s, back)

    def _expire(self, s: Session) -> None:
        """Forget a session silent for `session_ttl_ms` (its incidents stay open)."""
        self.counters["sessions_expired"] += 1
        if s.in_episode:
            self._episode(s, "episode_end", s.last_ts, self.now - s.offset, "expired", "")
        self._emit_finding(s, "leave", s.last_ts)
        del self.sessions[s.session_id]

    # ---------------------------------------------------------------- output
    def _emit(
        self,
        s: Session,
        kind: Any,
        iid: str,
        state: Any,
        started: int,
        detected: int,
        ended: int | None,
        evidence: dict[str, Any],
    ) -> None:
        ctx = s.ctx
        self.on_incident(
            Incident(
                incident_id=iid,
                kind=kind,
                state=state,
                started_at=started,
                detected_at=detected,
                ended_at=ended,
                line=ctx.line(),
                evidence=evidence,
                session_id=s.session_id,
                student_id=ctx.student_id,
                classroom_id=ctx.classroom_id,
            )
        )

    def _emit_finding(self, s: Session, kind: Any, ts: int) -> None:
        if self.on_finding is None or not s.ctx.known_line:
            return
        c = s.ctx
        self.on_finding(Finding(kind, s.session_id, c.classroom_id, c.edge, c.isp, c.region, ts))

    def _episode(
        self, s: Session, kind: Any, ts: int, detected: int, episode: str, iid: str
    ) -> None:
        if self.on_finding is None or not s.ctx.known_line:
            return
        c = s.ctx
        self.on_finding(
            Finding(
                kind, s.session_id, c.classroom_id, c.edge, c.isp, c.region, ts,
                detected, episode, iid,
            )
        )


__all__ = ["Session", "SessionEngine", "context_of", "pack"]
