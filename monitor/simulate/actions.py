"""What a fault does to one session's stream: scripted breaks and quality windows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

ScriptType = Literal["reconnect", "disconnect", "join"]


@dataclass(frozen=True, slots=True)
class Scripted:
    """One event a fault makes the client send, at true time `ts`."""

    ts: int
    type: ScriptType
    fields: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Break:
    """Media (stats/heartbeat) stops before `start`; scripted events; media resumes.

    Media resumes with a tick at `resume`; `None` means never (no leave either).
    If `gap_after_last_tick` is set, the resume tick is that long after the last
    media event before the break (for exact-silence cases).
    """

    start: int
    resume: int | None
    events: tuple[Scripted, ...] = ()
    gap_after_last_tick: int | None = None


@dataclass(frozen=True, slots=True)
class Degrade:
    """Link quality forced low from `start` to `end`, with some clean intervals."""

    start: int
    end: int
    ratio_low: float
    ratio_high: float
    clean_prob: float


@dataclass(frozen=True, slots=True)
class Pattern:
    """The next stats intervals from `start` on are degraded (True) or clean (False)."""

    start: int
    degraded: tuple[bool, ...]


@dataclass(frozen=True, slots=True)
class Quiet:
    """Link forced healthy (around faults, so the fault alone decides what happens)."""

    start: int
    end: int


Action = Break | Degrade | Pattern | Quiet


@dataclass(frozen=True, slots=True)
class Footprint:
    """Time a fault occupies on a session; `drop` faults count toward flapping."""

    start: int
    end: int
    drop: bool


@dataclass(frozen=True, slots=True)
class FaultInstance:
    """One injected fault: its name, the sessions it touches and when."""

    name: str
    sessions: tuple[int, ...]
    start: int
    end: int
    line: tuple[tuple[str, str], ...] = ()

    def to_dict(self, session_ids: list[str]) -> dict[str, Any]:
        """A JSON-friendly description."""
        out: dict[str, Any] = {
            "fault": self.name,
            "sessions": [session_ids[i] for i in self.sessions],
            "start": self.start,
            "end": self.end,
        }
        if self.line:
            out["line"] = dict(self.line)
        return out
