"""Bounded event time: one session's clock never sets the clock of the others."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.clock_guard import (
    NO_TIME,
    ReadingClock,
    arrival_violations,
    finding_out_of_range,
    mark_out_of_range,
)
from detectors.config import DetectionConfig
from detectors.findings import Finding
from detectors.telemetry import BadRecord, Event
from tests.support.factory import T0, heartbeat

CFG = DetectionConfig()
HOUR = 3_600_000
YEAR = 365 * 24 * HOUR


def stream(sessions: int, n: int, step: int = 500, start: int = T0) -> list[Event]:
    """Round-robin heartbeats of `sessions` sessions, `step` ms apart."""
    return [heartbeat(f"s{i % sessions}", start + i * step) for i in range(n)]


def test_a_heartbeat_a_year_ahead_first_is_out_of_range_and_the_clock_follows_the_stream() -> None:
    clean = stream(4, 40)
    clock = ReadingClock(CFG)
    assert clock.admit([heartbeat("s0", T0 + YEAR), *clean]) == [0]
    assert clock.now == clean[-1].ts
    assert clock.rejected == 1


def test_an_hour_ahead_in_the_middle_is_out_of_range() -> None:
    clean = stream(4, 40)
    items: list[Event | BadRecord] = [*clean[:20], heartbeat("s2", T0 + HOUR), *clean[20:]]
    clock = ReadingClock(CFG)
    assert clock.admit(items) == [20]
    assert clock.now == clean[-1].ts


def test_far_behind_is_out_of_range_but_late_within_the_bound_is_not() -> None:
    clean = stream(3, 30, start=T0 + 2 * HOUR)
    late = heartbeat("s1", clean[10].ts - 30_000)
    items: list[Event | BadRecord] = [*clean[:20], heartbeat("s1", T0 - YEAR), late, *clean[20:]]
    assert ReadingClock(CFG).admit(items) == [20]


def test_a_gap_in_the_recording_is_a_jump_when_another_session_agrees() -> None:
    day1 = stream(3, 12)
    day2 = stream(3, 12, start=T0 + 20 * HOUR)
    clock = ReadingClock(CFG)
    assert clock.admit([*day1, *day2]) == []
    assert clock.now == day2[-1].ts


def test_a_jump_ending_a_batch_is_believed_when_the_next_batch_agrees() -> None:
    clock = ReadingClock(CFG)
    day1 = stream(3, 12)
    assert clock.admit([*day1, heartbeat("s0", T0 + HOUR)]) == [12]
    assert clock.now == day1[-1].ts
    assert clock.admit([heartbeat("s1", T0 + HOUR + 500), heartbeat("s2", T0 + HOUR + 900)]) == []
    assert clock.now == T0 + HOUR + 900


def test_a_session_alone_may_have_a_gap() -> None:
    alone = [heartbeat("solo", T0 + k * 2000) for k in range(5)]
    alone += [heartbeat("solo", T0 + HOUR + k * 2000) for k in range(5)]
    clock = ReadingClock(CFG)
    assert clock.admit(alone[:7]) == []
    assert clock.admit(alone[7:]) == []
    assert clock.now == alone[-1].ts


def test_a_lone_first_record_is_not_believed_until_someone_agrees() -> None:
    clock = ReadingClock(CFG)
    assert clock.admit([heartbeat("evil", T0 + YEAR)]) == [0]
    assert clock.now == NO_TIME
    assert clock.admit([heartbeat("s0", T0)]) == [0]  # still one voice against one
    assert clock.admit([heartbeat("s1", T0 + 700)]) == []  # two sessions agree
    assert clock.now == T0 + 700


def test_bad_records_are_passed_over() -> None:
    bad = BadRecord("not_json", "x", b"{")
    items: list[Event | BadRecord] = [bad, heartbeat("s0", T0 + YEAR), bad, *stream(2, 6)]
    assert ReadingClock(CFG).admit(items) == [1]


def test_arrival_bounds_both_sides_and_ahead_only() -> None:
    items: list[Event | BadRecord] = [
        heartbeat("a", T0 + CFG.max_ahead_ms + 1),
        heartbeat("b", T0 + CFG.max_ahead_ms),
        heartbeat("c", T0 - CFG.max_behind_ms - 1),
        BadRecord("not_json", "", b""),
    ]
    assert arrival_violations(items, [T0] * 4, CFG) == [0, 2]
    assert arrival_violations(items, [T0] * 4, CFG, behind=False) == [0]
    mark_out_of_range(items, [0], [b"raw0", b"", b"", b""])
    assert items[0] == BadRecord("ts_out_of_range", items[0].detail, b"raw0")  # type: ignore[union-attr]


def test_a_finding_ahead_of_its_record_or_its_stamp_is_not_believed() -> None:
    f = Finding("join", "s1", "c1", "e1", "isp", "north", T0)
    assert not finding_out_of_range(f, T0, T0, CFG)
    assert finding_out_of_range(f, T0 + YEAR, T0, CFG)  # stamped in the future
    ahead = Finding("join", "s1", "c1", "e1", "isp", "north", T0 + HOUR)
    assert finding_out_of_range(ahead, T0, T0, CFG)  # far ahead of its worker's clock


@settings(max_examples=150, deadline=None)
@given(
    sessions=st.integers(2, 6),
    n=st.integers(4, 120),
    step=st.integers(0, 5_000),
    where=st.floats(0, 1, exclude_max=True),
    # Beyond the bounds by more than the few steps to the next sessions' events.
    jump=st.one_of(st.integers(CFG.max_ahead_ms + 20_001, 2 * YEAR),
                   st.integers(-2 * YEAR, -CFG.max_behind_ms - 20_001)),
    cuts=st.lists(st.integers(3, 120), max_size=6),
)
def test_property_one_session_jumping_never_moves_the_clock(
    sessions: int, n: int, step: int, where: float, jump: int, cuts: list[int]
) -> None:
    """Anywhere in a stream, cut into batches (the first of three records at least): one
    event of one session jumping away is refused, and the clock is the clean stream's."""
    clean = stream(sessions, n, step)
    at = int(where * n)
    ref = clean[at - 1].ts if at else clean[0].ts
    rogue_sid = f"s{(at - 1) % sessions}" if at else "s0"
    rogue_sid = f"s{(int(rogue_sid[1:]) + 1) % sessions}"  # not the session just before it
    items: list[Event | BadRecord] = [*clean[:at], heartbeat(rogue_sid, ref + jump), *clean[at:]]
    clock = ReadingClock(CFG)
    rejected: list[int] = []
    bounds = sorted({c for c in cuts if c < len(items)} | {0, len(items)})
    for lo, hi in itertools.pairwise(bounds):
        rejected += [lo + i for i in clock.admit(items[lo:hi])]
        if at < lo:
            assert clock.now <= clean[-1].ts
    assert rejected == [at]
    assert clock.now == clean[-1].ts


def test_a_batch_all_behind_the_clock_is_judged_against_the_clock() -> None:
    clock = ReadingClock(CFG)
    assert clock.admit(stream(3, 9, start=T0 + 2 * HOUR)) == []
    now = clock.now
    late: list[Event | BadRecord] = [heartbeat("s1", now - CFG.max_behind_ms - 5000),
                                     heartbeat("s2", now - 600_000)]
    assert clock.admit(late) == [0]
    assert clock.now == now
