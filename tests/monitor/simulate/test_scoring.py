"""Scoring detections against ground truth: one-to-one matching by kind, subject and start."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.simulate.score import score

T = 1_767_258_000_000


def truth(kind: str, start: int, sid: str = "s1", **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"kind": kind, "started_at": T + start, "ended_at": None, "fault": "x"}
    if kind == "line":
        row["line"] = extra.pop("line", {"edge": "e1"})
    else:
        row["session_id"] = sid
    row.update(extra)
    return row


def opened(
    kind: str, start: int, sid: str = "s1", delay: int = 3000, **extra: Any
) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "record": "incident",
        "incident_id": f"{kind}-{sid}-{start}",
        "kind": kind,
        "state": "open",
        "started_at": T + start,
        "detected_at": T + start + delay,
        "ended_at": None,
        "evidence": {},
    }
    if kind == "line":
        rec["line"] = extra.pop("line", {"edge": "e1"})
        rec["sessions"] = []
    else:
        rec.update(session_id=sid, student_id="u", classroom_id="c", line={"edge": "e1"})
    rec.update(extra)
    return rec


def test_exact_matches_score_one() -> None:
    t = [truth("lag", 0), truth("disconnect", 5000), truth("line", 0)]
    d = [opened("lag", 0), opened("disconnect", 5000), opened("line", 0)]
    s = score(d, t)
    assert (s.recall, s.precision) == (1.0, 1.0)
    assert s.missed == [] and s.extra == []


def test_start_times_match_within_the_tolerance_inclusive() -> None:
    assert score([opened("lag", 5000)], [truth("lag", 0)]).recall == 1.0
    assert score([opened("lag", -5000)], [truth("lag", 0)]).recall == 1.0
    s = score([opened("lag", 5001)], [truth("lag", 0)])
    assert (s.recall, s.precision) == (0.0, 0.0)
    assert len(s.missed) == 1 and len(s.extra) == 1
    assert score([opened("lag", 9000)], [truth("lag", 0)], tolerance_ms=10_000).recall == 1.0


def test_matching_is_one_to_one() -> None:
    s = score([opened("lag", 0), opened("lag", 1000)], [truth("lag", 500)])
    assert s.per_kind["lag"].matched == 1
    assert s.recall == 1.0 and s.precision == 0.5
    s = score([opened("lag", 500)], [truth("lag", 0), truth("lag", 1000)])
    assert s.recall == 0.5 and s.precision == 1.0


def test_matching_finds_the_most_pairs() -> None:
    # greedy by nearest would pair 4000 with 4500 and leave both ends unmatched
    t = [truth("lag", 0), truth("lag", 4500)]
    d = [opened("lag", 4000), opened("lag", 9000)]
    assert score(d, t).per_kind["lag"].matched == 2


def test_kind_and_subject_must_agree() -> None:
    s = score([opened("disconnect", 0), opened("lag", 0, sid="s2")], [truth("lag", 0)])
    assert s.recall == 0.0 and s.precision == 0.0
    line_isp = {"isp": "a", "region": "r"}
    s = score([opened("line", 0, line=line_isp)], [truth("line", 0, line={"edge": "e1"})])
    assert s.recall == 0.0
    assert score([opened("line", 0, line=line_isp)], [truth("line", 0, line=line_isp)]).recall == 1


def test_only_open_incident_records_count() -> None:
    records = [
        opened("lag", 0),
        {**opened("lag", 0), "state": "update"},
        {**opened("lag", 0), "state": "closed", "ended_at": T + 9000},
        {
            "record": "outreach",
            "incident_id": "x",
            "case_id": "c",
            "session_id": "s1",
            "student_id": "u",
            "action": "call",
            "reason": "lag",
            "decided_at": T,
        },
    ]
    s = score(records, [truth("lag", 0)])
    assert s.per_kind["lag"].detected == 1 and s.precision == 1.0


def test_median_delay_per_kind_uses_the_true_start() -> None:
    t = [truth("lag", 0), truth("lag", 100_000), truth("lag", 200_000)]
    d = [
        opened("lag", 1000, delay=5000),
        opened("lag", 100_000, delay=2000),
        opened("lag", 200_000, delay=9000),
    ]
    s = score(d, t)
    assert s.per_kind["lag"].median_delay_ms == 6000  # 6000, 2000, 9000
    assert s.per_kind["disconnect"].median_delay_ms is None


def test_nothing_to_find_and_nothing_found_is_perfect() -> None:
    s = score([], [])
    assert (s.recall, s.precision) == (1.0, 1.0)


def test_report_names_kinds_and_lists_misses() -> None:
    s = score([opened("lag", 0), opened("flapping", 0)], [truth("lag", 0), truth("disconnect", 0)])
    text = s.report()
    for word in ("lag", "disconnect", "flapping", "line", "all", "missed (1)", "extra (1)"):
        assert word in text


episodes = st.lists(
    st.tuples(
        st.sampled_from(["lag", "disconnect", "flapping", "line"]),
        st.sampled_from(["s1", "s2", "s3"]),
        st.integers(0, 10_000_000),
    ),
    max_size=30,
)


@settings(max_examples=100, deadline=None)
@given(episodes, st.lists(st.integers(-5000, 5000), min_size=30, max_size=30))
def test_detections_within_tolerance_of_distinct_episodes_all_match(
    eps: list[tuple[str, str, int]], shifts: list[int]
) -> None:
    # keep episodes of one subject more than two tolerances apart: then any shift matches
    seen: dict[tuple[str, str], list[int]] = {}
    kept = []
    for kind, sid, start in eps:
        key = (kind, "line" if kind == "line" else sid)
        if all(abs(start - other) > 10_000 for other in seen.get(key, [])):
            seen.setdefault(key, []).append(start)
            kept.append((kind, sid, start))
    t = [truth(k, s, sid) for k, sid, s in kept]
    d = [opened(k, s + shift, sid) for (k, sid, s), shift in zip(kept, shifts, strict=False)]
    result = score(d, t)
    assert result.recall == 1.0 and result.precision == 1.0
    assert result.overall.matched == len(kept)


@settings(max_examples=100, deadline=None)
@given(episodes, episodes)
def test_counts_are_consistent(
    t_eps: list[tuple[str, str, int]], d_eps: list[tuple[str, str, int]]
) -> None:
    t = [truth(k, s, sid) for k, sid, s in t_eps]
    d = [opened(k, s, sid) for k, sid, s in d_eps]
    result = score(d, t)
    assert result.overall.truth == len(t) and result.overall.detected == len(d)
    assert result.overall.matched == len(t) - len(result.missed) == len(d) - len(result.extra)
    assert 0.0 <= result.recall <= 1.0 and 0.0 <= result.precision <= 1.0


def test_the_score_as_json() -> None:
    import orjson

    s = score([opened("lag", 0, delay=4000)], [truth("lag", 0), truth("line", 0)])
    out = orjson.loads(orjson.dumps(s.as_dict()))
    assert out["overall"] == {
        "truth": 2,
        "detected": 1,
        "matched": 1,
        "recall": 0.5,
        "precision": 1.0,
        "median_delay_ms": 4000,
    }
    assert out["per_kind"]["line"]["recall"] == 0.0
    assert [m["kind"] for m in out["missed"]] == ["line"]
    assert out["extra"] == []
