"""A support case and its timeline, as plain values (the store reads and writes them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from outreach.decide.case_states import CaseState
from outreach.decide.outcomes import Outcome, OutcomeRecord


@dataclass(frozen=True, slots=True)
class Case:
    """A support case as stored."""

    case_id: str
    incident_id: str
    kind: str
    session_id: str | None
    student_id: str | None
    classroom_id: str | None
    state: CaseState
    owner: str | None
    outcome: Outcome | None
    lesson_minutes_lost: float | None
    policy: dict[str, Any]
    attempts: int
    incident_started_at: int
    incident_ended_at: int | None
    opened_at: int
    updated_at: int
    closed_at: int | None

    def outcome_record(self) -> OutcomeRecord | None:
        """The `support.outcomes` record, once the case is closed."""
        if self.state != "closed" or self.outcome is None or self.closed_at is None:
            return None
        return OutcomeRecord(
            case_id=self.case_id,
            incident_id=self.incident_id,
            session_id=self.session_id,
            student_id=self.student_id,
            outcome=self.outcome,
            lesson_minutes_lost=self.lesson_minutes_lost or 0.0,
            opened_at=self.opened_at,
            closed_at=self.closed_at,
            attempts=self.attempts,
        )


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """One line of a case's timeline."""

    event_id: int
    case_id: str
    at: int
    kind: str
    actor: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Opened:
    """The result of opening a case: the case, and whether this call created it."""

    case: Case
    created: bool
