"""Flapping: 3 or more drops (disconnect episodes or reconnect sequences) within 5 minutes."""

from __future__ import annotations

from tests.support.factory import T0, Run, disconnect, join, leave, reconnect, stats


def blip(t: int) -> list:  # type: ignore[type-arg]
    """A short drop: one failed reconnect, then media back 2 s later."""
    return [reconnect("s1", t), reconnect("s1", t + 1000, attempt=2, ok=True),
            stats("s1", t + 2000)]


def with_drops(*starts: int, end: int | None = None) -> list:  # type: ignore[type-arg]
    """A session in class from T0, stats every 2 s, with a short drop at each start."""
    end = end or max(starts) + 10_000
    events = [join("s1", T0)]
    busy = [(t, t + 2000) for t in starts]
    for ts in range(T0 + 2000, end + 1, 2000):
        if not any(a <= ts <= b for a, b in busy):
            events.append(stats("s1", ts))
    for t in starts:
        events += blip(t)
    return sorted(events, key=lambda e: e.ts)


def test_three_short_drops_within_five_minutes_are_flapping() -> None:
    run = Run().feed(*with_drops(T0 + 10_001, T0 + 70_001, T0 + 130_001))
    [flap] = run.of("flapping", "open")
    assert flap.started_at == T0 + 10_001
    assert flap.detected_at == T0 + 130_001
    assert flap.evidence["drops"] == 3


def test_three_drops_spread_over_more_than_five_minutes_are_not() -> None:
    run = Run().feed(*with_drops(T0 + 10_001, T0 + 200_001, T0 + 311_001))
    assert run.of("flapping") == []


def test_a_disconnect_during_a_reconnect_sequence_counts_once() -> None:
    run = Run().feed(join("s1", T0), reconnect("s1", T0 + 1000), disconnect("s1", T0 + 2000),
                     stats("s1", T0 + 5000), *blip(T0 + 20_000))
    assert run.of("flapping") == []
    assert run.engine.sessions["s1"].flap is not None
    assert len(run.engine.sessions["s1"].flap.starts) == 2


def test_a_reconnect_that_succeeds_at_once_is_a_drop() -> None:
    run = Run().feed(join("s1", T0), reconnect("s1", T0 + 1000, ok=True), stats("s1", T0 + 2000),
                     reconnect("s1", T0 + 5000, ok=True), stats("s1", T0 + 6000),
                     reconnect("s1", T0 + 9000, ok=True))
    assert len(run.of("flapping", "open")) == 1


def test_duplicate_reconnect_events_do_not_add_drops() -> None:
    ok = reconnect("s1", T0 + 1000, ok=True)
    run = Run().feed(join("s1", T0), ok, ok, stats("s1", T0 + 2000), ok)
    assert run.engine.sessions["s1"].flap is not None
    assert len(run.engine.sessions["s1"].flap.starts) == 1


def test_flapping_closes_five_minutes_after_the_last_drop_ending_at_it() -> None:
    run = Run().feed(*with_drops(T0 + 10_001, T0 + 20_001, T0 + 30_001, end=T0 + 400_000))
    [closed] = run.of("flapping", "closed")
    assert closed.ended_at == T0 + 31_001  # the last sequence ended at its ok


def test_leave_closes_flapping() -> None:
    run = Run().feed(*with_drops(T0 + 10_001, T0 + 20_001, T0 + 30_001, end=T0 + 39_000),
                     leave("s1", T0 + 40_000))
    assert len(run.of("flapping", "closed")) == 1
