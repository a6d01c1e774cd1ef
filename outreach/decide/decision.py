"""What the outreach stages decide, and what they decide it from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from detectors.records import Action

ChannelName = Literal["call", "sms", "chat"]  # the ways to reach a family

# Named reasons (labels of the decisions metric).
RECOVERED_IN_HOLD_OFF: Final = "recovered_in_hold_off"
COVERED_BY_LINE_INCIDENT: Final = "covered_by_line_incident"
ALREADY_CONTACTED: Final = "already_contacted"
QUIET_HOURS: Final = "quiet_hours"
RATE_LIMITED: Final = "rate_limited"
DO_NOT_CONTACT: Final = "do_not_contact"
SMS_OPTED_OUT: Final = "sms_opted_out"  # the family answered STOP: phone or chat instead


@dataclass(frozen=True, slots=True)
class Decision:
    """An action and the named reason for it; `none` is a normal, counted result."""

    action: Action
    reason: str

    @property
    def suppressed(self) -> bool:
        """True when nobody is contacted."""
        return self.action == "none"


@dataclass(frozen=True, slots=True)
class FamilyPrefs:
    """What the family directory says about reaching a student's family."""

    time_zone: str = "UTC"
    quiet_start: str | None = None  # "HH:MM" local time
    quiet_end: str | None = None
    do_not_call: bool = False
    preferred_channel: str | None = None  # "call" | "sms" | "chat"
    sms_opted_out: bool = False  # a guardian replied STOP to our SMS


@dataclass(frozen=True, slots=True)
class DecisionContext:
    """Everything a stage may look at: the incident, the session now, the family."""

    incident_id: str
    kind: str
    session_id: str
    student_id: str
    classroom_id: str
    detected_at: int
    now: int
    incident_closed: bool
    session_dropped: bool
    covering_line_incident: str | None
    contacted_recently: bool
    calls_this_lesson: int
    calls_today: int
    family: FamilyPrefs | None = None


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """Outreach policy settings (frozen on each case when it opens)."""

    hold_off_ms: int = 10_000
    contact_cooldown_ms: int = 15 * 60_000
    max_calls_per_lesson: int = 2
    max_calls_per_day: int = 4
    line_coverage_grace_ms: int = 60_000
    # Wait once more for the line verdict when this many sessions of the same line
    # (this one included) went into trouble within the line window.
    line_suspect_sessions: int = 3
    line_wait_ms: int = 10_000
