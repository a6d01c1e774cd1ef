"""Builders of telemetry events and recorders of what the detectors emit (test helpers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from detectors.config import DetectionConfig
from detectors.engine import SessionEngine
from detectors.findings import Finding
from detectors.line import LineCorrelator
from detectors.records import Incident
from detectors.telemetry import (
    Client,
    Disconnect,
    Event,
    Heartbeat,
    Join,
    Leave,
    Network,
    Reconnect,
    Stats,
)

T0 = 1_700_000_000_000


def join(sid: str = "s1", ts: int = T0, *, student: str | None = None, room: str = "c1",
         edge: str = "e1", isp: str = "isp1", region: str = "r1", device: str = "pc") -> Join:
    """A join with the session's context."""
    return Join(v=1, ts=ts, session_id=sid, student_id=student or f"u-{sid}", classroom_id=room,
                client=Client(app_version="5.1.0", os="win", device=device),  # type: ignore[arg-type]
                network=Network(conn="wifi", isp=isp, region=region, edge=edge))


def stats(sid: str = "s1", ts: int = T0, *, bad: bool = False, room: str = "c1",
          interval_ms: int = 2000, **over: Any) -> Stats:
    """A stats interval: clean by default, degraded (high RTT and loss) with bad=True."""
    values: dict[str, Any] = dict(rtt_ms=60.0, jitter_ms=4.0, loss_pct=0.0, recv_kbps=900.0,
                                  fps=25.0, freeze_ms=0, audio_stall_ms=0)
    if bad:
        values.update(rtt_ms=900.0, loss_pct=18.0, fps=4.0, freeze_ms=1200)
    values.update(over)
    return Stats(v=1, ts=ts, session_id=sid, student_id=f"u-{sid}", classroom_id=room,
                 interval_ms=interval_ms, **values)


def heartbeat(sid: str = "s1", ts: int = T0, room: str = "c1") -> Heartbeat:
    """A heartbeat."""
    return Heartbeat(v=1, ts=ts, session_id=sid, student_id=f"u-{sid}", classroom_id=room)


def reconnect(sid: str = "s1", ts: int = T0, *, attempt: int = 1, ok: bool = False,
              room: str = "c1") -> Reconnect:
    """A reconnect attempt."""
    return Reconnect(v=1, ts=ts, session_id=sid, student_id=f"u-{sid}", classroom_id=room,
                     attempt=attempt, ok=ok)


def disconnect(sid: str = "s1", ts: int = T0, *, reason: str = "network",
               room: str = "c1") -> Disconnect:
    """A client-reported disconnect."""
    return Disconnect(v=1, ts=ts, session_id=sid, student_id=f"u-{sid}", classroom_id=room,
                      reason=reason)  # type: ignore[arg-type]


def leave(sid: str = "s1", ts: int = T0, room: str = "c1") -> Leave:
    """A normal leave."""
    return Leave(v=1, ts=ts, session_id=sid, student_id=f"u-{sid}", classroom_id=room)


def steady(sid: str, start: int, end: int, *, bad_from: int | None = None,
           bad_to: int | None = None, room: str = "c1", step: int = 2000) -> list[Event]:
    """Stats every `step` ms in [start, end], degraded in [bad_from, bad_to]."""
    out: list[Event] = []
    for ts in range(start, end + 1, step):
        bad = bad_from is not None and bad_to is not None and bad_from <= ts <= bad_to
        out.append(stats(sid, ts, bad=bad, room=room))
    return out


@dataclass
class Run:
    """An engine plus line correlator with everything they emitted."""

    config: DetectionConfig = field(default_factory=DetectionConfig)
    incidents: list[Incident] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.correlator = LineCorrelator(self.config, self.incidents.append)
        self.engine = SessionEngine(self.config, self.incidents.append, self._finding)

    def _finding(self, f: Finding) -> None:
        self.findings.append(f)
        self.correlator.feed(f)

    def feed(self, *events: Event) -> Run:
        """Feed events in the given (arrival) order."""
        for ev in events:
            self.engine.feed(ev)
            self.correlator.advance(self.engine.now)
        return self

    def advance(self, now: int) -> Run:
        """Move the watermark."""
        self.engine.advance(now)
        self.correlator.advance(now)
        return self

    def of(self, kind: str, state: str | None = None) -> list[Incident]:
        """Emitted records of one kind (and state)."""
        return [i for i in self.incidents if i.kind == kind and (state is None or i.state == state)]
