"""The case transition table (pure) and outcome records."""

from __future__ import annotations

import itertools

from outreach.decide.case_states import STATES, TRANSITIONS, check_transition
from outreach.decide.outcomes import OUTCOMES, OutcomeRecord, lesson_minutes_lost


def test_every_state_has_a_row_and_closed_is_terminal() -> None:
    assert set(TRANSITIONS) == set(STATES)
    assert TRANSITIONS["closed"] == frozenset()
    for source in STATES:
        assert check_transition("closed", source) is not None


def test_allowed_moves_pass_and_others_are_refused_with_a_name() -> None:
    for source, target in itertools.product(STATES, STATES):
        refusal = check_transition(source, target)
        if target in TRANSITIONS[source]:
            assert refusal is None, (source, target)
        else:
            assert refusal is not None
            assert refusal.reason in {"case_closed", "transition_not_allowed"}


def test_named_reasons() -> None:
    assert check_transition("resolved", "contacting").reason == "transition_not_allowed"  # type: ignore[union-attr]
    assert check_transition("closed", "open").reason == "case_closed"  # type: ignore[union-attr]
    assert check_transition("open", "flying").reason == "unknown_state"  # type: ignore[union-attr]


def test_lesson_minutes_lost_is_capped_at_lesson_end() -> None:
    assert lesson_minutes_lost(0, 90_000) == 1.5
    assert lesson_minutes_lost(0, 600_000, lesson_end=120_000) == 2.0
    assert lesson_minutes_lost(100, 50) == 0.0


def test_outcome_record_shape() -> None:
    rec = OutcomeRecord("case-1", "lag-1", "s1", "st1", "self_recovered", 1.5, 10, 20, 0)
    d = rec.to_dict()
    assert d["record"] == "outcome"
    assert d["outcome"] in OUTCOMES
    assert rec.key == "s1"
