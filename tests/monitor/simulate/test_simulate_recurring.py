"""Recurring trouble of one family: chronic bad links and a lag that ends in a drop."""

from __future__ import annotations

import dataclasses
import itertools
from collections import defaultdict

from monitor.simulate import CLEAN_DELIVERY, NO_FAULTS, FaultRates, SimConfig, SimResult, simulate


def school(rates: FaultRates, seed: int = 5) -> SimResult:
    return simulate(SimConfig(seed=seed, classrooms=6, students_min=5, students_max=8,
                              lesson_minutes_min=30, lesson_minutes_max=35,
                              start_spread_minutes=3, faults=rates, mess=CLEAN_DELIVERY,
                              link_degradation=False))


def test_a_chronic_link_fails_every_few_minutes_for_the_whole_lesson() -> None:
    # A few families (too few per line to make a line incident).
    sim = school(dataclasses.replace(NO_FAULTS, chronic_link=0.15))
    by_session: dict[str, list[dict[str, object]]] = defaultdict(list)
    for row in sim.truth:
        assert row["fault"] == "chronic_link" and row["kind"] == "lag", row
        by_session[str(row["session_id"])].append(row)
    assert by_session
    for rows in by_session.values():
        starts = sorted(int(r["started_at"]) for r in rows)  # type: ignore[call-overload]
        assert len(starts) >= 5  # a 30-minute lesson: a problem every 1.5-6 minutes
        assert all(60_000 <= b - a <= 6 * 60_000 for a, b in itertools.pairwise(starts))


def test_a_lag_then_drop_is_a_stutter_followed_by_a_disconnect() -> None:
    sim = school(dataclasses.replace(NO_FAULTS, lag_then_drop=0.15))
    by_session: dict[str, list[dict[str, object]]] = defaultdict(list)
    for row in sim.truth:
        by_session[str(row["session_id"])].append(row)
    assert by_session
    for rows in by_session.values():
        kinds = [r["kind"] for r in sorted(rows, key=lambda r: int(r["started_at"]))]  # type: ignore[call-overload]
        assert kinds == ["lag", "disconnect"], kinds


def test_recurring_faults_leave_the_rest_of_the_day_as_it_was() -> None:
    without = school(FaultRates())  # off by default: simulated days are as they were
    with_them = school(dataclasses.replace(FaultRates(), chronic_link=0.05, lag_then_drop=0.05))
    recurring = {r["session_id"] for r in with_them.truth
                 if r["fault"] in ("chronic_link", "lag_then_drop")}
    assert recurring
    keep = [r for r in with_them.truth if r.get("session_id") not in recurring]
    assert keep == [r for r in without.truth if r.get("session_id") not in recurring]
