"""Support cases: one per incident, with a timeline, an owner, a state and an outcome."""

from outreach.cases.db import DEFAULT_DSN, make_engine, open_database, upgrade
from outreach.cases.outcomes import OUTCOMES, Outcome, OutcomeRecord, lesson_minutes_lost
from outreach.cases.states import STATES, TRANSITIONS, CaseState, Refusal, check_transition
from outreach.cases.store import Case, CaseEvent, CaseStore, Opened

__all__ = [
    "DEFAULT_DSN",
    "OUTCOMES",
    "STATES",
    "TRANSITIONS",
    "Case",
    "CaseEvent",
    "CaseState",
    "CaseStore",
    "Opened",
    "Outcome",
    "OutcomeRecord",
    "Refusal",
    "check_transition",
    "lesson_minutes_lost",
    "make_engine",
    "open_database",
    "upgrade",
]
