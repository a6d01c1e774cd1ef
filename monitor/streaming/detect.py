"""Per-partition detection for the worker: session engine + outreach policy + re-keying.

Restart safety without snapshots of the engine: the state topic keeps, per
partition, the offset from which every live session (and every session whose
incident still waits for its outreach decision) can be rebuilt, and the ids of
every record already acknowledged. A new owner re-reads from that offset
(deterministic), and only what was not yet acknowledged goes out.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from detectors.config import DetectionConfig
from detectors.engine import SessionEngine
from detectors.findings import Finding
from detectors.records import Incident, Outreach, encode
from detectors.telemetry import BadRecord, Event
from monitor.platform.kafka_settings import KafkaSettings
from monitor.platform.logging import get_logger
from monitor.platform.metrics import Metrics
from monitor.streaming.assembly import decisions
from monitor.streaming.output import Out
from monitor.streaming.protocols import Fetched
from monitor.streaming.state import state_record
from monitor.streaming.time_bounds import RecordTimeBounds
from monitor.streaming.verdicts import VerdictBoard
from monitor.streaming.wire import (
    FINDING,
    WATERMARK,
    Watermark,
    encode_watermark,
    time_headers,
)
from outreach.decide.decision import PolicyConfig

RESTART_KEY: Final = b"\x00restart"
EMITTED_PREFIX: Final = b"e/"
MARK_EVERY_S: Final = 0.2
RESTART_EVERY_S: Final = 1.0


class DetectProcessor:
    """Detection state of one telemetry partition."""

    def __init__(
        self,
        partition: int,
        settings: KafkaSettings,
        board: VerdictBoard,
        metrics: Metrics,
        detection: DetectionConfig | None = None,
        policy: PolicyConfig | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.partition = partition
        self.s = settings
        self.t = settings.topics
        self.board = board
        self.metrics = metrics
        self.wall = wall
        self.live_mode = settings.clock == "wall"
        self.engine = SessionEngine(
            detection or DetectionConfig(), self._incident, self._finding, self._session_started
        )
        self.policy = decisions(policy or PolicyConfig(), self._outreach, board.pressure)
        self.bounds = RecordTimeBounds(self.engine.cfg, event_clock=not self.live_mode)
        self.outs: list[Out] = []
        self.emitted: set[bytes] = set()
        self.first_offset: dict[str, int] = {}
        self.awaiting: dict[str, str] = {}  # incident id -> session, until its outreach decision
        self.next_offset = 0
        self.restart_from = 0
        self._restart_written = -1
        self._restart_at = 0.0
        self._mark_at = 0.0
        self._mark_t = -1
        self._cursor = 0
        self._waiting: list[tuple[int, Incident]] = []
        self._own: deque[tuple[int, Incident]] = deque()
        self._records: Sequence[Fetched] = ()  # the batch being fed (engine.position)
        self.resume_offset = 0
        self.sources = settings.telemetry_partitions  # the worker sets the topic's real count
        self.log = get_logger("detect", partition=partition)

    # -- PartitionProcessor ------------------------------------------------------------

    def restore(self, state: Mapping[bytes, bytes]) -> None:
        """Load acknowledged record ids and the rebuild offset of this partition."""
        for key, value in state.items():
            if key.startswith(EMITTED_PREFIX):
                self.emitted.add(key)
            elif key == RESTART_KEY:
                self.restart_from = int(value)
                self._restart_written = self.restart_from

    def feed_records(self, events: Sequence[Event], records: Sequence[Fetched]) -> None:
        """Process events with their records (offset; record time = arrival, ms)."""
        if len(events) != len(records):
            raise ValueError("one record per event")
        self._records = records
        batch = events if isinstance(events, list) else list(events)
        try:
            if self.live_mode:
                self.engine.feed_batch(batch, [rec.timestamp for rec in records])
            else:
                self.engine.feed_batch(batch)
        finally:
            self._records = ()
        if records:
            self.next_offset = records[-1].offset + 1

    def bound_times(self, items: list[Event | BadRecord], stamps: Sequence[int],
                    raws: Sequence[bytes]) -> None:
        """Make events whose `ts` is out of range `ts_out_of_range` bad records (in place)."""
        self.bounds.check(items, stamps, raws)

    def advance(self, now_ms: int | None) -> None:
        """Fire timers, take line verdicts up to their watermark, and run the hold-off."""
        if now_ms is not None:
            self.engine.advance(now_ms)
        t = self.engine.now
        verdict_t = self.board.watermark()
        if self.live_mode:
            verdict_t = max(verdict_t, t - self.s.verdict_max_wait_ms)
        self._run_policy(min(t, verdict_t))
        self._maybe_mark(t)

    def watermark(self) -> int:
        """The engine's event-time clock."""
        return self.engine.now

    def drain(self) -> list[Out]:
        """Everything produced since the last drain, plus the rebuild offset when due."""
        self._maybe_write_restart()
        outs, self.outs = self.outs, []
        return outs

    # -- internals -----------------------------------------------------------------

    def _run_policy(self, until: int) -> None:
        """Give the policy its session incidents and the line verdicts in event-time order.

        The policy runs behind the engine, at most up to the verdict watermark, so
        that a decision sees exactly what replay would have shown it at that time.
        """
        history = self.board.history
        if self._cursor < len(history):
            self._waiting.extend(history[self._cursor :])
            self._cursor = len(history)
        lines: list[tuple[int, Incident]] = []
        if self._waiting:
            lines = sorted((v for v in self._waiting if v[0] <= until), key=lambda v: v[0])
            if lines:
                self._waiting = [v for v in self._waiting if v[0] > until]
        own = self._own
        policy = self.policy
        i = 0
        while (own and own[0][0] <= until) or i < len(lines):
            if own and own[0][0] <= until and (i >= len(lines) or own[0][0] <= lines[i][0]):
                t, inc = own.popleft()
            else:
                t, inc = lines[i]
                i += 1
            policy.advance(t - 1)
            policy.on_incident(inc)
        policy.advance(until)

    def _maybe_mark(self, t: int) -> None:
        now = self.wall()
        if t <= self._mark_t or now - self._mark_at < MARK_EVERY_S:
            return
        self._mark_t = t
        self._mark_at = now
        value = encode_watermark(Watermark(self.partition, self.sources, t, self.s.clock))
        headers = time_headers(WATERMARK, t)
        for q in range(self.s.findings_partitions):
            self.outs.append(Out(self.t.findings, value, key=None, partition=q, headers=headers))

    def _maybe_write_restart(self) -> None:
        now = self.wall()
        if now - self._restart_at < RESTART_EVERY_S:
            return
        self._restart_at = now
        sessions = self.engine.sessions
        waiting = set(self.awaiting.values())
        first = self.first_offset
        for sid in [sid for sid in first if sid not in sessions and sid not in waiting]:
            del first[sid]
        restart = min(first.values(), default=self.next_offset)
        if restart > self._restart_written:
            self._restart_written = restart
            self.outs.append(
                state_record(self.t.state, self.partition, RESTART_KEY, str(restart).encode())
            )

    def _record(self) -> Fetched | None:
        """The record whose event the engine is processing (None: a timer, between batches)."""
        i = self.engine.position
        return self._records[i] if i >= 0 else None

    def _arrival(self) -> int | None:
        """Arrival time of the record being processed (None: a timer, or a rebuild)."""
        rec = self._record()
        if rec is None or rec.offset < self.resume_offset:
            return None
        return rec.timestamp

    def _session_started(self, session_id: str) -> None:
        """The engine tracks a new session: remember the offset its state starts at."""
        rec = self._record()
        if rec is not None and session_id not in self.first_offset:
            self.first_offset[session_id] = rec.offset

    def _once(self, key: bytes) -> bool:
        """True the first time a record id is produced (and remember it in the state topic)."""
        if key in self.emitted:
            return False
        self.emitted.add(key)
        self.outs.append(state_record(self.t.state, self.partition, key, b"1"))
        return True

    def _incident(self, inc: Incident) -> None:
        self._own.append((self.engine.now, inc))
        if inc.state == "open" and inc.session_id:
            self.awaiting[inc.incident_id] = inc.session_id
        if not self._once(EMITTED_PREFIX + f"{inc.incident_id}/{inc.state}".encode()):
            return
        self.log.info(
            "incident",
            incident_id=inc.incident_id,
            kind=inc.kind,
            state=inc.state,
            session_id=inc.session_id,
            classroom_id=inc.classroom_id,
            started_at=inc.started_at,
        )
        self.outs.append(
            Out(
                self.t.incidents,
                encode(inc),
                key=inc.key.encode(),
                on_ack=self._acked(inc.kind, inc.state, inc.detected_at, self._arrival()),
            )
        )

    def _outreach(self, o: Outreach) -> None:
        self.awaiting.pop(o.incident_id, None)
        if not self._once(EMITTED_PREFIX + f"{o.incident_id}/outreach".encode()):
            return
        self.metrics.outreach.labels(o.action).inc()
        self.log.info(
            "outreach_decided",
            incident_id=o.incident_id,
            session_id=o.session_id,
            action=o.action,
            reason=o.reason,
        )
        self.outs.append(Out(self.t.outcomes, encode(o), key=o.session_id.encode()))

    def _finding(self, f: Finding) -> None:
        value = f.to_bytes()
        headers = time_headers(FINDING, self.engine.now)
        for key in f.line_keys:
            self.outs.append(Out(self.t.findings, value, key=key.encode(), headers=headers))

    def _acked(
        self, kind: str, state: str, event_ms: int, arrival_ms: int | None
    ) -> Callable[[], None]:
        metrics = self.metrics
        wall = self.wall

        def done() -> None:
            metrics.incidents.labels(kind, state).inc()
            if state != "open":
                return
            now_ms = wall() * 1000
            hist = metrics.decision_latency
            hist.labels("event").observe(max(0.0, (now_ms - event_ms) / 1000))
            if arrival_ms is not None:
                hist.labels("arrival").observe(max(0.0, (now_ms - arrival_ms) / 1000))

        return done
