"""Case outcomes and the `outcome` record published to `support.outcomes`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal

Outcome = Literal[
    "self_recovered",
    "resolved_by_chat",
    "resolved_by_call",
    "no_answer",
    "escalated",
    "infra_incident",
    "do_not_contact",
    "resolved_by_sms",
    "resolved_by_remedy",
]

OUTCOMES: Final[tuple[Outcome, ...]] = (
    "self_recovered",
    "resolved_by_chat",
    "resolved_by_call",
    "no_answer",
    "escalated",
    "infra_incident",
    "do_not_contact",
    "resolved_by_sms",
    "resolved_by_remedy",
)


def lesson_minutes_lost(started_at: int, ended_at: int, lesson_end: int | None = None) -> float:
    """Minutes of lesson lost between `started_at` and `ended_at` (ms), capped at the lesson end."""
    end = ended_at if lesson_end is None else min(ended_at, lesson_end)
    return round(max(0, end - started_at) / 60_000, 2)


def spans_minutes_lost(
    spans: Iterable[tuple[int, int]], lesson_end: int | None = None
) -> float:
    """Minutes lost over several problems (start, end), overlaps counted once, capped at the end."""
    lost, reach = 0, None
    for start, end in sorted(spans):
        stop = end if lesson_end is None else min(end, lesson_end)
        begin = start if reach is None else max(start, reach)
        lost += max(0, stop - begin)
        reach = stop if reach is None else max(reach, stop)
    return round(lost / 60_000, 2)


@dataclass(frozen=True, slots=True)
class OutcomeRecord:
    """How a case ended: the object a publisher sends to `support.outcomes`."""

    case_id: str
    incident_id: str
    session_id: str | None
    student_id: str | None
    outcome: Outcome
    lesson_minutes_lost: float
    opened_at: int
    closed_at: int
    attempts: int

    @property
    def key(self) -> str:
        """The Kafka message key (the session, else the incident)."""
        return self.session_id or self.incident_id

    def to_dict(self) -> dict[str, Any]:
        """The JSON object (`record: "outcome"`)."""
        return {
            "record": "outcome",
            "case_id": self.case_id,
            "incident_id": self.incident_id,
            "session_id": self.session_id,
            "student_id": self.student_id,
            "outcome": self.outcome,
            "lesson_minutes_lost": self.lesson_minutes_lost,
            "opened_at": self.opened_at,
            "closed_at": self.closed_at,
            "attempts": self.attempts,
        }
