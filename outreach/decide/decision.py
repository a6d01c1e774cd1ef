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
# One family, one case (contract 1.1): what a joined incident ends in.
JOINED_OPEN_CASE: Final = "joined_open_case"
ESCALATED_DROPPED: Final = "escalated_dropped"
ESCALATED_RECURRING: Final = "escalated_recurring"


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
    case: FamilyCaseView | None = None  # the family's open case this incident joins (None: new)


@dataclass(frozen=True, slots=True)
class FamilyCaseView:
    """The family's open case, as far as a joined incident's decision is concerned."""

    case_id: str
    incidents_in_window: int  # the family's problems in the recurrence window, this one included
    minutes_lost: float  # lesson minutes lost so far in the case (problems overlapping once)
    contacts: tuple[str, ...]  # actions taken so far on the case (chat, call, sms, agent_queue)
    escalated: bool  # already handed to a technician (once per case)
    last_phone_contact_at: int | None  # the newest call or SMS of the case

    @property
    def chat_only(self) -> bool:
        """Every contact so far was in-app chat (which a dropped student no longer sees)."""
        return bool(self.contacts) and all(a == "chat" for a in self.contacts)


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
    # ... and at least this share of the line's sessions: a line verdict needs
    # `line_min_share` (30 %); a few lagging sessions on a line of thousands are not one.
    line_suspect_share: float = 0.15
    line_wait_ms: int = 10_000
    # One family, one case (contract 1.1); off: a case per incident, as in 1.0.
    family_cases: bool = True
    # A problem this soon after the family's case was over joins it.
    case_reopen_ms: int = 15 * 60_000
    recurring_incidents: int = 3  # problems within recurring_window_ms: a technician calls
    recurring_window_ms: int = 10 * 60_000
    lesson_minutes_lost_escalate: float = 5.0  # or this many lesson minutes lost in the case
    phone_gap_ms: int = 10 * 60_000  # never two calls or SMS to a family within this time
    # What the families under a line incident are told once it is over (chat, else SMS).
    all_clear_text: str = "Your class works again. We are sorry for the interruption."
