"""Replay's clock over generated schools: one session's clock jumping changes nothing."""

from __future__ import annotations

import itertools

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detectors.config import DetectionConfig
from detectors.telemetry import Event
from monitor.streaming.assembly import Pipeline
from tests.detectors.test_properties import school
from tests.support.factory import heartbeat, stats

CFG = DetectionConfig()
YEAR = 365 * 24 * 3_600_000


def run(events: list[bytes], cuts: list[int]) -> tuple[list[dict[str, object]], Pipeline]:
    out: list[dict[str, object]] = []
    pipe = Pipeline(lambda r: out.append(r.to_dict()))
    bounds = sorted({c for c in cuts if c < len(events)} | {0, len(events)})
    for lo, hi in itertools.pairwise(bounds):
        pipe.feed_raw(events[lo:hi])
    pipe.finish()
    return out, pipe


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=school(),
    where=st.floats(0, 1, exclude_max=True),
    jump=st.one_of(st.integers(CFG.max_ahead_ms + 20_001, 2 * YEAR),
                   st.integers(-2 * YEAR, -CFG.max_behind_ms - 20_001)),
    kind=st.sampled_from(["heartbeat", "stats"]),
    cuts=st.lists(st.integers(3, 4000), max_size=4),
)
def test_property_a_clock_jump_of_one_session_changes_no_record(
    case: tuple[list[Event], bool], where: float, jump: int, kind: str, cuts: list[int]
) -> None:
    events, _ = case
    at = int(where * len(events))
    before = events[at - 1].session_id if at else ""
    sid = next(e.session_id for e in events if e.session_id != before)
    ref = events[at - 1].ts if at else events[0].ts
    make = heartbeat if kind == "heartbeat" else stats
    rogue: Event = make(sid, ref + jump)
    raws = [msgspec.json.encode(e) for e in events]
    clean, _ = run(raws, cuts)
    got, pipe = run([*raws[:at], msgspec.json.encode(rogue), *raws[at:]], cuts)
    assert got == clean
    assert pipe.stats.bad_by_reason == {"ts_out_of_range": 1}


def test_a_jump_ending_a_batch_waits_for_the_next_batch_and_is_not_lost() -> None:
    from tests.support.factory import T0, join

    day1 = [msgspec.json.encode(heartbeat(f"s{i % 3}", T0 + 500 * i)) for i in range(12)]
    later = T0 + 3_600_000
    jump = msgspec.json.encode(join("s9", later))
    day2 = [msgspec.json.encode(heartbeat(f"s{i % 3}", later + 500 * i)) for i in range(1, 6)]
    pipe = Pipeline(lambda r: None)
    pipe.feed_raw([*day1, jump])
    assert pipe.engine.now == T0 + 500 * 11  # the lone jump has not moved the clock
    pipe.feed_raw(day2)
    assert "s9" in pipe.engine.sessions  # the join made it, its session known from it
    assert pipe.engine.now == later + 2500
    assert pipe.stats.bad_by_reason == {}
    assert pipe.stats.records == len(day1) + 1 + len(day2)


def test_a_lone_first_record_is_judged_with_the_next_batch() -> None:
    from tests.support.factory import T0, join

    pipe = Pipeline(lambda r: None)
    pipe.feed_raw([msgspec.json.encode(join("a", T0))])
    pipe.feed_raw([msgspec.json.encode(join("b", T0 + 300))])
    assert sorted(pipe.engine.sessions) == ["a", "b"]
    assert pipe.stats.bad_by_reason == {}


def test_a_jump_still_held_at_the_end_is_out_of_range() -> None:
    from tests.support.factory import T0

    pipe = Pipeline(lambda r: None)
    pipe.feed_raw([msgspec.json.encode(heartbeat(f"s{i % 3}", T0 + 500 * i)) for i in range(9)]
                  + [msgspec.json.encode(heartbeat("s0", T0 + 3_600_000))])
    pipe.finish()
    assert pipe.stats.bad_by_reason == {"ts_out_of_range": 1}
    assert pipe.engine.now == T0 + 4000


def test_a_jump_among_the_last_events_of_its_own_session_is_refused_at_the_end() -> None:
    # Found by hypothesis: a heartbeat 80 s ahead, followed only by its own session's
    # events, was held for the next batch; at the end of input it was re-judged as a
    # session "going on alone" and moved the clock (two phantom disconnects).
    from tests.support.factory import T0, join

    events = [join("s0", T0), join("metronome", T0)]
    for t in range(2000, 100_000, 2000):
        events += [stats("s0", T0 + t), heartbeat("metronome", T0 + t),
                   heartbeat("metronome", T0 + t + 1000)]
    raws = [msgspec.json.encode(e) for e in events]
    clean, _ = run(raws, [])
    rogue = msgspec.json.encode(heartbeat("metronome", events[-3].ts + 80_001))
    got, pipe = run([*raws[:-2], rogue, *raws[-2:]], [])
    assert got == clean
    assert pipe.stats.bad_by_reason == {"ts_out_of_range": 1}
