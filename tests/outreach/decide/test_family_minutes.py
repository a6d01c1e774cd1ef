"""Minutes lost over a family case's problems, overlaps once (pure)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from outreach.decide.outcomes import lesson_minutes_lost, spans_minutes_lost

MIN = 60_000


def test_problems_add_up_and_overlaps_count_once() -> None:
    assert spans_minutes_lost([(0, MIN), (2 * MIN, 3 * MIN)]) == 2.0
    assert spans_minutes_lost([(0, MIN), (30_000, 90_000)]) == 1.5
    assert spans_minutes_lost([(0, 10 * MIN), (MIN, 2 * MIN)]) == 10.0
    assert spans_minutes_lost([(0, MIN), (2 * MIN, 5 * MIN)], lesson_end=3 * MIN) == 2.0
    assert spans_minutes_lost([]) == 0.0


@given(st.lists(st.tuples(st.integers(0, 10**7), st.integers(0, 10**6)), max_size=12))
def test_one_span_alone_is_the_lesson_minutes_of_it(raw: list[tuple[int, int]]) -> None:
    spans = [(s, s + d) for s, d in raw]
    total = spans_minutes_lost(spans)
    assert total <= round(sum(d for _, d in raw) / MIN, 2) + 0.01
    for s, e in spans:
        assert spans_minutes_lost([(s, e)]) == lesson_minutes_lost(s, e)
        assert total + 0.01 >= lesson_minutes_lost(s, e)
