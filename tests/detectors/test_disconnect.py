"""Disconnect: a disconnect event, 10 s of silence, or reconnects without ok for 10 s."""

from __future__ import annotations

from tests.support.factory import (
    T0,
    Run,
    disconnect,
    heartbeat,
    join,
    leave,
    reconnect,
    stats,
    steady,
)


def other(until: int, step: int = 1000) -> list:  # type: ignore[type-arg]
    """Another session's heartbeats: they move the watermark on."""
    return [heartbeat("other", ts, room="c2") for ts in range(T0, until + 1, step)]


def interleave(*streams: list) -> list:  # type: ignore[type-arg]
    return sorted((e for s in streams for e in s), key=lambda e: e.ts)


def test_a_disconnect_event_opens_at_once_and_stats_close_it() -> None:
    run = Run().feed(join("s1", T0), stats("s1", T0 + 2000), disconnect("s1", T0 + 3000),
                     stats("s1", T0 + 9000))
    [opened] = run.of("disconnect", "open")
    assert (opened.started_at, opened.detected_at) == (T0 + 3000, T0 + 3000)
    assert opened.evidence == {"cause": "disconnect_event", "reason": "network"}
    [closed] = run.of("disconnect", "closed")
    assert closed.ended_at == T0 + 9000


def test_ten_seconds_of_silence_is_a_disconnect_from_the_last_event() -> None:
    s1 = [join("s1", T0), *steady("s1", T0 + 2000, T0 + 10_000)]
    run = Run().feed(*interleave(s1, other(T0 + 30_000)))
    [opened] = run.of("disconnect", "open")
    assert opened.started_at == T0 + 10_000
    assert opened.detected_at == T0 + 20_000
    assert opened.evidence["cause"] == "silence"


def test_nine_seconds_of_silence_is_not_a_disconnect() -> None:
    s1 = [join("s1", T0), stats("s1", T0 + 2000), stats("s1", T0 + 11_000),
          *steady("s1", T0 + 13_000, T0 + 30_000)]
    run = Run().feed(*interleave(s1, other(T0 + 30_000)))
    assert run.of("disconnect") == []


def test_silence_is_only_decided_when_time_moves_on() -> None:
    run = Run().feed(join("s1", T0), stats("s1", T0 + 2000))
    assert run.of("disconnect") == []
    run.advance(T0 + 12_000)
    assert len(run.of("disconnect", "open")) == 1


def test_a_heartbeat_ends_a_disconnect_but_a_successful_reconnect_alone_does_not() -> None:
    run = Run().feed(join("s1", T0), disconnect("s1", T0 + 1000),
                     reconnect("s1", T0 + 3000, ok=True))
    assert run.of("disconnect", "closed") == []
    run.feed(heartbeat("s1", T0 + 4000))
    [closed] = run.of("disconnect", "closed")
    assert closed.ended_at == T0 + 4000


def test_reconnects_without_ok_for_ten_seconds_start_a_disconnect_at_the_first_attempt() -> None:
    s1 = [join("s1", T0), stats("s1", T0 + 2000)] + [
        reconnect("s1", T0 + 3000 + k * 2000, attempt=k + 1) for k in range(8)]
    run = Run().feed(*interleave(s1, other(T0 + 20_000)))
    [opened] = run.of("disconnect", "open")
    assert (opened.started_at, opened.detected_at) == (T0 + 3000, T0 + 13_000)
    assert opened.evidence["cause"] == "reconnect_failed"


def test_ok_exactly_ten_seconds_after_the_first_attempt_is_in_time() -> None:
    s1 = [join("s1", T0), stats("s1", T0 + 2000), reconnect("s1", T0 + 3000),
          reconnect("s1", T0 + 8000, attempt=2), reconnect("s1", T0 + 13_000, attempt=3, ok=True),
          *steady("s1", T0 + 14_000, T0 + 30_000)]
    run = Run().feed(*interleave(s1, other(T0 + 30_000)))
    assert run.of("disconnect") == []


def test_leave_is_not_a_disconnect_and_silence_after_it_is_fine() -> None:
    s1 = [join("s1", T0), stats("s1", T0 + 2000), leave("s1", T0 + 3000)]
    run = Run().feed(*interleave(s1, other(T0 + 60_000)))
    assert run.of("disconnect") == []


def test_leave_closes_an_open_disconnect() -> None:
    run = Run().feed(join("s1", T0), disconnect("s1", T0 + 1000), leave("s1", T0 + 5000))
    [closed] = run.of("disconnect", "closed")
    assert closed.ended_at == T0 + 5000


def test_crash_and_rejoin_is_one_disconnect_ended_by_the_new_clients_stats() -> None:
    s1 = [join("s1", T0), *steady("s1", T0 + 2000, T0 + 10_000),
          disconnect("s1", T0 + 11_000, reason="app_crash"),
          join("s1", T0 + 25_000), *steady("s1", T0 + 27_000, T0 + 40_000)]
    run = Run().feed(*interleave(s1, other(T0 + 40_000)))
    assert len(run.of("disconnect", "open")) == 1
    [closed] = run.of("disconnect", "closed")
    assert closed.ended_at == T0 + 27_000


def test_duplicate_disconnect_events_open_one_incident() -> None:
    d = disconnect("s1", T0 + 3000)
    run = Run().feed(join("s1", T0), d, d, stats("s1", T0 + 6000), d)
    assert len(run.of("disconnect", "open")) == 1


def test_a_disconnect_event_arriving_after_the_media_that_ended_it_is_opened_and_closed() -> None:
    run = Run().feed(join("s1", T0), stats("s1", T0 + 2000), stats("s1", T0 + 6000),
                     disconnect("s1", T0 + 4000))
    [opened] = run.of("disconnect", "open")
    [closed] = run.of("disconnect", "closed")
    assert opened.started_at == T0 + 4000 and closed.ended_at == T0 + 6000


def test_a_clock_skewed_client_is_judged_by_its_own_clock() -> None:
    # s1's clock is 4 s behind everyone's, its events arrive on time: no false silence.
    s1 = [join("s1", T0 - 4000)]
    s1 += [stats("s1", ts - 4000) for ts in range(T0 + 2000, T0 + 60_001, 2000)]
    events = sorted(s1 + other(T0 + 60_000),
                    key=lambda e: e.ts + (4000 if e.session_id == "s1" else 0))
    run = Run().feed(*events)
    assert run.of("disconnect") == []


def test_a_silent_session_is_forgotten_after_the_session_ttl() -> None:
    run = Run().feed(join("s1", T0), stats("s1", T0 + 2000))
    run.advance(T0 + 2000 + run.config.session_ttl_ms + 2000)
    assert "s1" not in run.engine.sessions
    assert run.engine.counters["sessions_expired"] == 1


def test_exactly_ten_seconds_of_silence_is_a_disconnect_even_when_the_next_event_comes() -> None:
    s1 = [join("s1", T0), stats("s1", T0 + 2000), stats("s1", T0 + 12_000),
          *steady("s1", T0 + 14_000, T0 + 30_000)]
    run = Run().feed(*interleave(s1, other(T0 + 30_000)))
    [opened] = run.of("disconnect", "open")
    assert (opened.started_at, opened.detected_at) == (T0 + 2000, T0 + 12_000)
    [closed] = run.of("disconnect", "closed")
    assert closed.ended_at == T0 + 12_000


def test_an_ok_exactly_at_the_timeout_from_a_slow_clock_is_still_in_time() -> None:
    # s1's clock runs 2 s behind the others and its events arrive with 1 s of jitter:
    # the ok at +10 s (its clock) arrives after the others' clocks passed +12 s.
    s1 = [join("s1", T0), stats("s1", T0 + 2000), reconnect("s1", T0 + 3000),
          reconnect("s1", T0 + 8000, attempt=2), reconnect("s1", T0 + 13_000, attempt=3, ok=True),
          *steady("s1", T0 + 14_000, T0 + 30_000)]
    delay = {T0 + 13_000: 3000}
    arrivals = [(e.ts + 2000 + delay.get(e.ts, 1000), e) for e in s1]
    arrivals += [(e.ts, e) for e in other(T0 + 34_000, step=500)]
    run = Run().feed(*[e for _, e in sorted(arrivals, key=lambda x: x[0])])
    assert run.of("disconnect") == []


def test_a_reconnect_failure_is_decided_from_a_late_event_too() -> None:
    run = Run().feed(join("s1", T0), stats("s1", T0 + 2000), reconnect("s1", T0 + 3000),
                     reconnect("s1", T0 + 14_000, attempt=2, ok=True))
    [opened] = run.of("disconnect", "open")
    assert (opened.started_at, opened.detected_at) == (T0 + 3000, T0 + 13_000)
    assert opened.evidence["cause"] == "reconnect_failed"
