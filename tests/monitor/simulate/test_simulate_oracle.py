"""The oracle (reference definitions) against hand-written tiny streams."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.simulate.oracle import (
    disconnect_episodes,
    drops,
    flapping_episodes,
    is_degraded,
    lag_episodes,
)
from monitor.simulate.truth import find_episodes

T0 = 1_767_258_000_000


def ev(kind: str, ts: int, sid: str = "s1", room: str = "c1", **fields: Any) -> dict[str, Any]:
    base = {
        "v": 1,
        "type": kind,
        "ts": T0 + ts,
        "session_id": sid,
        "student_id": "u-" + sid,
        "classroom_id": room,
    }
    if kind == "join":
        net = {
            "conn": "wifi",
            "isp": fields.pop("isp", "isp1"),
            "region": "r1",
            "edge": fields.pop("edge", "e1"),
        }
        base.update(client={"app_version": "1", "os": "x", "device": "pc"}, network=net)
    base.update(fields)
    return base


def stats(
    ts: int, bad: bool = False, sid: str = "s1", interval: int = 2000, **kw: Any
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "interval_ms": interval,
        "rtt_ms": 40.0,
        "jitter_ms": 3.0,
        "loss_pct": 0.2,
        "recv_kbps": 1200.0,
        "fps": 29.0,
        "freeze_ms": 0,
        "audio_stall_ms": 0,
    }
    if bad:
        values["freeze_ms"] = interval
    values.update(kw)
    return ev("stats", ts, sid, **values)


def rec(ts: int, attempt: int, ok: bool, sid: str = "s1") -> dict[str, Any]:
    return ev("reconnect", ts, sid, attempt=attempt, ok=ok)


def series(pattern: str, start: int = 2000, sid: str = "s1") -> list[dict[str, Any]]:
    """'D' degraded, 'C' clean, 'H' heartbeat, every 2 s."""
    out = []
    for i, ch in enumerate(pattern):
        ts = start + 2000 * i
        out.append(ev("heartbeat", ts, sid) if ch == "H" else stats(ts, ch == "D", sid))
    return out


def media(
    start: int, end: int, gaps: Sequence[tuple[int, int]] = (), sid: str = "s1", step: int = 2000
) -> list[dict[str, Any]]:
    """Clean stats every `step` ms in [start, end], none strictly inside the gaps."""
    return [
        stats(t, sid=sid)
        for t in range(start, end + 1, step)
        if not any(a < t < b for a, b in gaps)
    ]


def stream(*parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted((e for part in parts for e in part), key=lambda e: e["ts"])


def rel(episodes: list[dict[str, Any]]) -> list[tuple[int, int | None]]:
    return [
        (e["started_at"] - T0, None if e["ended_at"] is None else e["ended_at"] - T0)
        for e in episodes
    ]


# --- degraded intervals ---


def test_degraded_thresholds_at_their_edges() -> None:
    assert not is_degraded(stats(0, freeze_ms=599))
    assert is_degraded(stats(0, freeze_ms=600))
    assert not is_degraded(stats(0, audio_stall_ms=399))
    assert is_degraded(stats(0, audio_stall_ms=400))
    assert not is_degraded(stats(0, fps=7.0))
    assert is_degraded(stats(0, fps=6.9))
    assert not is_degraded(stats(0, fps=0.0, recv_kbps=0.0))  # no media at all is not low fps
    assert not is_degraded(stats(0, loss_pct=10.0))
    assert is_degraded(stats(0, loss_pct=10.01))
    assert not is_degraded(stats(0, rtt_ms=500.0))
    assert is_degraded(stats(0, rtt_ms=500.1))


def test_only_freeze_and_stall_scale_with_the_interval() -> None:
    assert is_degraded(stats(0, interval=1000, freeze_ms=300))
    assert not is_degraded(stats(0, interval=1000, freeze_ms=299))
    assert is_degraded(stats(0, interval=1000, audio_stall_ms=200))
    assert not is_degraded(stats(0, interval=4000, freeze_ms=1000))
    assert is_degraded(stats(0, interval=1000, loss_pct=11.0))
    assert not is_degraded(stats(0, interval=4000, rtt_ms=450.0))


# --- lag ---


def test_lag_3_of_5_starts_at_the_first_degraded_interval_and_ends_at_the_last() -> None:
    evs = [ev("join", 0), *series("CCDCDCDCCCCCC")]
    # D at ts 6000, 10000, 14000: starts at 6000 - 2000, ends at 14000
    assert rel(lag_episodes(evs)) == [(4000, 14000)]


def test_two_of_five_is_no_lag() -> None:
    assert lag_episodes([ev("join", 0), *series("DCCDCCDCCDCC")]) == []


def test_lag_closes_only_after_5_clean_in_a_row() -> None:
    evs = [ev("join", 0), *series("DDDCCCCDCCCCC")]
    assert rel(lag_episodes(evs)) == [(0, 16000)]
    evs = [ev("join", 0), *series("DDDCCCC")]
    assert rel(lag_episodes(evs)) == [(0, None)]  # 4 clean: still open


def test_a_new_lag_after_the_first_closed() -> None:
    evs = [ev("join", 0), *series("DDDCCCCCDDDCCCCC")]
    assert rel(lag_episodes(evs)) == [(0, 6000), (16000, 22000)]


def test_leave_resets_the_lag_window() -> None:
    evs = [
        ev("join", 0),
        *series("CCDD"),
        ev("leave", 9000),
        ev("join", 10000),
        *series("DCC", start=12000),
    ]
    assert lag_episodes(evs) == []


def test_heartbeats_do_not_count_in_the_lag_window() -> None:
    evs = [ev("join", 0), *series("DDHHHHHHDCCCCC")]
    assert rel(lag_episodes(evs)) == [(0, 18000)]


def test_lag_window_ignores_gaps_between_stats() -> None:
    evs = [ev("join", 0), stats(2000, True), stats(60_000, True), stats(200_000, True)]
    assert rel(lag_episodes(evs)) == [(0, None)]


def windows_with_3(pattern: list[bool]) -> bool:
    return any(sum(pattern[max(0, i - 4) : i + 1]) >= 3 for i in range(len(pattern)))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.booleans(), max_size=40))
def test_a_lag_exists_exactly_when_some_5_consecutive_intervals_hold_3_degraded(
    pattern: list[bool],
) -> None:
    evs = [ev("join", 0), *series("".join("D" if b else "C" for b in pattern))]
    found = lag_episodes(evs)
    assert bool(found) == windows_with_3(pattern)
    for a, b in itertools.pairwise(found):
        assert a["ended_at"] is not None and a["ended_at"] < b["started_at"]


# --- disconnect ---


def test_silence_of_exactly_10_s_is_a_disconnect_from_the_last_event() -> None:
    evs = [ev("join", 0), stats(2000), stats(12_000), stats(14_000)]
    assert rel(disconnect_episodes(evs, T0 + 14_000)) == [(2000, 12_000)]


def test_silence_just_under_10_s_is_nothing() -> None:
    evs = [ev("join", 0), stats(2000), stats(11_999), stats(13_999)]
    assert disconnect_episodes(evs, T0 + 13_999) == []


def test_silence_until_the_stream_ends_is_an_open_disconnect() -> None:
    evs = [ev("join", 0), stats(2000)]
    assert rel(disconnect_episodes(evs, T0 + 12_000)) == [(2000, None)]
    assert disconnect_episodes(evs, T0 + 11_999) == []


def test_reconnect_ok_exactly_10_s_after_the_first_attempt_is_in_time() -> None:
    evs = [
        ev("join", 0),
        stats(2000),
        rec(3000, 1, False),
        rec(7000, 2, False),
        rec(11_000, 3, False),
        rec(13_000, 4, True),
        stats(14_000),
    ]
    assert disconnect_episodes(evs, T0 + 14_000) == []


def test_reconnect_without_ok_for_more_than_10_s_starts_at_the_first_attempt() -> None:
    evs = [
        ev("join", 0),
        stats(2000),
        rec(3000, 1, False),
        rec(7000, 2, False),
        rec(11_000, 3, False),
        rec(13_001, 4, True),
        stats(14_000),
    ]
    assert rel(disconnect_episodes(evs, T0 + 14_000)) == [(3000, 14_000)]


def test_ok_alone_does_not_end_a_disconnect_media_does() -> None:
    evs = [
        ev("join", 0),
        stats(2000),
        ev("disconnect", 3000, reason="network"),
        rec(5000, 1, True),
        ev("heartbeat", 7000),
        stats(9000),
    ]
    assert rel(disconnect_episodes(evs, T0 + 9000)) == [(3000, 7000)]


def test_a_disconnect_event_then_rejoin_is_one_episode_ending_at_stats() -> None:
    evs = [
        ev("join", 0),
        stats(2000),
        ev("disconnect", 2500, reason="app_crash"),
        ev("join", 30_000),
        stats(32_000),
    ]
    assert rel(disconnect_episodes(evs, T0 + 32_000)) == [(2500, 32_000)]


def test_leave_is_not_a_disconnect_and_ends_one() -> None:
    evs = [ev("join", 0), stats(2000), ev("leave", 3000)]
    assert disconnect_episodes(evs, T0 + 60_000) == []
    evs = [ev("join", 0), stats(2000), ev("disconnect", 2500, reason="network"), ev("leave", 3000)]
    assert rel(disconnect_episodes(evs, T0 + 60_000)) == [(2500, 3000)]


def test_silence_then_failing_reconnects_is_one_episode() -> None:
    evs = [
        ev("join", 0),
        stats(2000),
        rec(20_000, 1, False),
        rec(22_000, 2, False),
        rec(40_000, 3, True),
        stats(41_000),
    ]
    assert rel(disconnect_episodes(evs, T0 + 41_000)) == [(2000, 41_000)]


# --- flapping ---


def short_drop(at: int) -> list[dict[str, Any]]:
    return [rec(at, 1, False), rec(at + 3000, 2, True)]


def flaps(*starts: int, end: int = 400_000) -> list[dict[str, Any]]:
    """Media every 2 s, interrupted by a short successful reconnect at each start."""
    gaps = [(a - 1000, a + 4000) for a in starts]
    return stream(
        [ev("join", 0)], media(2000, end, gaps), [e for a in starts for e in short_drop(a)]
    )


def test_three_drops_within_5_minutes_is_flapping_from_first_to_end_of_last() -> None:
    evs = flaps(10_000, 100_000, 310_000)
    assert rel(drops(evs, T0 + 400_000)) == [
        (10_000, 13_000),
        (100_000, 103_000),
        (310_000, 313_000),
    ]
    assert rel(flapping_episodes(evs, T0 + 400_000)) == [(10_000, 313_000)]


def test_three_drops_spanning_more_than_5_minutes_is_not_flapping() -> None:
    evs = flaps(10_000, 100_000, 310_001)
    assert flapping_episodes(evs, T0 + 400_000) == []


def test_overlapping_disconnect_and_reconnect_sequence_are_one_drop() -> None:
    evs = stream(
        [
            ev("join", 0),
            rec(3000, 1, False),
            rec(5000, 2, False),
            rec(7000, 3, False),
            rec(9000, 4, False),
            rec(11_000, 5, False),
            rec(13_000, 6, False),
            rec(15_000, 7, True),
        ],
        media(2000, 100_000, [(2000, 16_000), (59_000, 64_000)]),
        short_drop(60_000),
    )
    assert rel(disconnect_episodes(evs, T0 + 100_000)) == [(3000, 16_000)]
    assert rel(drops(evs, T0 + 100_000)) == [(3000, 16_000), (60_000, 63_000)]
    assert flapping_episodes(evs, T0 + 100_000) == []


def test_more_drops_extend_one_flapping_episode() -> None:
    evs = flaps(*(10_000 + 40_000 * k for k in range(5)))
    assert rel(flapping_episodes(evs, T0 + 400_000)) == [(10_000, 173_000)]


# --- line incidents ---


def line_school(
    active: int, failing: list[tuple[str, int]], rooms: int = 3, end: int = 400_000
) -> list[dict[str, Any]]:
    """`active` sessions on edge e1 with media every 5 s; `failing` (sid, at) drop out
    with a `disconnect` at `at` and come back 30 s later."""
    out: dict[str, int] = dict(failing)
    evs: list[dict[str, Any]] = []
    for k in range(active):
        sid, room = f"s{k}", f"c{k % rooms}"
        gaps = [(out[sid], out[sid] + 32_000)] if sid in out else []
        evs += [ev("join", 0, sid, room), *media(5000, end, gaps, sid, step=5000)]
        if sid in out:
            evs.append(ev("disconnect", out[sid], sid, room, reason="network"))
            evs.append(ev("join", out[sid] + 30_000, sid, room))
            evs.append(stats(out[sid] + 32_000, sid=sid))
    return evs


def lines_in(rows: list[dict[str, Any]]) -> list[tuple[dict[str, str], int]]:
    return [(r["line"], r["started_at"] - T0) for r in rows if r["kind"] == "line"]


def test_five_sessions_in_two_classrooms_within_a_minute_is_a_line_incident() -> None:
    failing = [(f"s{k}", 100_000 + 10_000 * k) for k in range(5)]
    rows = find_episodes(line_school(10, failing), T0 + 400_000)
    assert ({"edge": "e1"}, 100_000) in lines_in(rows)
    assert ({"isp": "isp1", "region": "r1"}, 100_000) in lines_in(rows)


def test_four_sessions_are_not_enough() -> None:
    failing = [(f"s{k}", 100_000 + 10_000 * k) for k in range(4)]
    assert lines_in(find_episodes(line_school(10, failing), T0 + 400_000)) == []


def test_one_classroom_is_not_a_line_incident() -> None:
    failing = [(f"s{k}", 100_000 + 1000 * k) for k in range(5)]
    assert lines_in(find_episodes(line_school(5, failing, rooms=1), T0 + 400_000)) == []


def test_the_share_of_active_sessions_must_reach_30_percent() -> None:
    failing = [(f"s{k}", 100_000 + 1000 * k) for k in range(6)]
    assert lines_in(find_episodes(line_school(21, failing), T0 + 400_000)) == []  # 6/21
    assert lines_in(find_episodes(line_school(20, failing), T0 + 400_000)) != []  # 6/20


def test_starts_more_than_a_minute_apart_do_not_add_up() -> None:
    failing = [(f"s{k}", 100_000 + 15_001 * k) for k in range(5)]  # first to fifth: 60.004 s
    assert lines_in(find_episodes(line_school(10, failing), T0 + 400_000)) == []
    failing = [(f"s{k}", 100_000 + 15_000 * k) for k in range(5)]  # exactly 60 s
    assert lines_in(find_episodes(line_school(10, failing), T0 + 400_000)) != []


def test_a_second_burst_right_after_joins_the_same_line_incident() -> None:
    failing = [(f"s{k}", 100_000 + 1000 * k) for k in range(5)]
    failing += [(f"s{k}", 150_000 + 1000 * k) for k in range(5, 10)]
    rows = [
        r
        for r in find_episodes(line_school(12, failing), T0 + 400_000)
        if r["kind"] == "line" and r["line"] == {"edge": "e1"}
    ]
    assert len(rows) == 1
    assert len(rows[0]["sessions"]) == 10


def test_a_line_incident_ends_when_fewer_than_5_of_its_sessions_are_in_an_episode() -> None:
    failing = [(f"s{k}", 100_000 + 1000 * k) for k in range(6)]
    rows = [
        r
        for r in find_episodes(line_school(12, failing), T0 + 400_000)
        if r["kind"] == "line" and r["line"] == {"edge": "e1"}
    ]
    # each session is back 32 s after it dropped: 6 in episodes until s0 is back at
    # 132 s, 5 until s1 is back at 133 s
    assert [(r["started_at"] - T0, r["ended_at"] - T0) for r in rows] == [(100_000, 133_000)]
    assert rows[0]["sessions"] == [f"s{k}" for k in range(6)]
    assert rows[0]["classrooms"] == ["c0", "c1", "c2"]
