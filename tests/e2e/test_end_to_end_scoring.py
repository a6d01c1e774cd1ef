"""End to end: simulate a school, replay it through the real pipeline, score against truth.

The detectors see the messy stream (duplicates, reordering, clock skew, lost
stats); the truth comes from the clean stream via the reference definitions.
"""

from __future__ import annotations

import pytest

from monitor.simulate import FaultRates, SimConfig, SimResult, simulate
from monitor.simulate.diagnose import explain
from monitor.simulate.score import Score, score

SEEDS = (1, 2, 3)
FAULTS = FaultRates(
    wifi_drop=0.15,
    app_crash=0.1,
    cellular_fade=0.3,
    flapping_wifi=0.08,
    blip=0.3,
    edge_outage_per_edge_hour=1.0,
    isp_degradation_per_line_hour=0.3,
)


def school(seed: int) -> SimConfig:
    """About 45 sessions for 20-30 minutes, with plenty of faults of every kind."""
    return SimConfig(
        seed=seed,
        classrooms=8,
        students_min=4,
        students_max=8,
        lesson_minutes_min=20,
        lesson_minutes_max=30,
        start_spread_minutes=5,
        faults=FAULTS,
    )


def diagnosis(result: SimResult, s: Score) -> str:
    """The score report plus, for each miss or extra, whether delivery or the detector caused it."""
    lines = [s.report(examples=50), "why:"]
    for item in explain(result, s):
        row = item.get("missed") or item.get("extra") or {}
        what = "missed" if "missed" in item else "extra"
        subject = row.get("session_id") or row.get("line")
        lines.append(f"  {what} {row['kind']} {subject} at {row['started_at']}: {item['cause']}")
    return "\n".join(lines)


@pytest.mark.parametrize("seed", SEEDS)
def test_replayed_detections_match_the_ground_truth(seed: int) -> None:
    from monitor.streaming.assembly import replay_records

    result = simulate(school(seed))
    records = replay_records(list(result.lines()))
    s = score(records, result.truth, tolerance_ms=5000)
    print(diagnosis(result, s))
    assert s.overall.truth >= 40, "the school should have plenty to find"
    assert s.recall >= 0.95, diagnosis(result, s)
    assert s.precision >= 0.95, diagnosis(result, s)
