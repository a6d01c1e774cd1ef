"""Lag: at least 3 of the session's last 5 stats intervals are degraded (telemetry.md)."""

from __future__ import annotations

from detectors.config import DetectionConfig
from tests.support.factory import T0, Run, heartbeat, join, leave, stats, steady


def test_three_degraded_of_five_opens_a_lag_at_the_first_degraded_interval() -> None:
    run = Run().feed(join("s1", T0), *steady("s1", T0 + 2000, T0 + 30_000,
                                               bad_from=T0 + 10_000, bad_to=T0 + 14_000))
    [lag] = run.of("lag", "open")
    flags = [i["degraded"] != [] for i in lag.evidence["intervals"]]
    assert lag.started_at == T0 + 8000  # start of the interval that ends at T0+10s
    assert lag.detected_at == T0 + 14_000  # the third degraded interval decides
    assert lag.evidence["degraded"] == 3
    assert flags == [False, False, True, True, True]


def test_two_degraded_intervals_are_a_blip_not_a_lag() -> None:
    run = Run().feed(join("s1", T0), *steady("s1", T0 + 2000, T0 + 60_000,
                                               bad_from=T0 + 10_000, bad_to=T0 + 12_000))
    assert run.of("lag") == []


def test_scattered_degraded_intervals_within_five_still_count() -> None:
    bad = {T0 + 10_000, T0 + 14_000, T0 + 18_000}
    events = [stats("s1", ts, bad=ts in bad) for ts in range(T0 + 2000, T0 + 40_001, 2000)]
    run = Run().feed(join("s1", T0), *events)
    [lag] = run.of("lag", "open")
    assert (lag.started_at, lag.detected_at) == (T0 + 8000, T0 + 18_000)


def test_lag_closes_after_five_clean_intervals_and_ends_at_its_last_degraded_interval() -> None:
    run = Run().feed(join("s1", T0), *steady("s1", T0 + 2000, T0 + 60_000,
                                               bad_from=T0 + 10_000, bad_to=T0 + 20_000))
    [opened] = run.of("lag", "open")
    [closed] = run.of("lag", "closed")
    assert closed.incident_id == opened.incident_id
    assert closed.ended_at == T0 + 20_000
    assert closed.evidence["closed_at"] == T0 + 30_000


def test_each_threshold_alone_degrades_an_interval() -> None:
    cases = [
        dict(freeze_ms=600), dict(audio_stall_ms=400), dict(fps=6.9),
        dict(loss_pct=10.5), dict(rtt_ms=501.0),
    ]
    for over in cases:
        events = [stats("s1", T0 + k * 2000, **over) for k in range(1, 4)]
        assert Run().feed(join("s1", T0), *events).of("lag", "open"), over


def test_values_at_the_threshold_are_clean_where_the_contract_says_strictly() -> None:
    events = [stats("s1", T0 + k * 2000, loss_pct=10.0, rtt_ms=500.0, fps=7.0,
                    freeze_ms=599, audio_stall_ms=399) for k in range(1, 6)]
    assert Run().feed(join("s1", T0), *events).of("lag") == []


def test_low_fps_without_media_is_not_lag() -> None:
    events = [stats("s1", T0 + k * 2000, fps=0.0, recv_kbps=0.0) for k in range(1, 6)]
    assert Run().feed(join("s1", T0), *events).of("lag") == []


def test_freeze_and_stall_thresholds_scale_with_the_interval() -> None:
    # 1 s intervals: 300 ms frozen is 30 %.
    events = [stats("s1", T0 + k * 1000, interval_ms=1000, freeze_ms=300) for k in range(1, 4)]
    assert Run().feed(join("s1", T0), *events).of("lag", "open")
    events = [stats("s1", T0 + k * 1000, interval_ms=1000, freeze_ms=290) for k in range(1, 4)]
    assert not Run().feed(join("s1", T0), *events).of("lag")


def test_heartbeats_do_not_enter_the_window() -> None:
    events = [stats("s1", T0 + 2000, bad=True), heartbeat("s1", T0 + 3000),
              stats("s1", T0 + 4000, bad=True), heartbeat("s1", T0 + 5000),
              stats("s1", T0 + 6000, bad=True)]
    assert Run().feed(join("s1", T0), *events).of("lag", "open")


def test_leave_resets_the_window_and_closes_an_open_lag() -> None:
    run = Run().feed(join("s1", T0), *steady("s1", T0 + 2000, T0 + 10_000, bad_from=T0 + 6000,
                                               bad_to=T0 + 10_000))
    run.feed(leave("s1", T0 + 11_000))
    [closed] = run.of("lag", "closed")
    assert closed.ended_at == T0 + 10_000
    run.feed(join("s1", T0 + 20_000), stats("s1", T0 + 22_000, bad=True),
             stats("s1", T0 + 24_000, bad=True))
    assert len(run.of("lag", "open")) == 1  # old degraded intervals do not count again


def test_duplicate_stats_are_ignored() -> None:
    a = stats("s1", T0 + 2000, bad=True)
    b = stats("s1", T0 + 4000, bad=True)
    run = Run().feed(join("s1", T0), a, a, b, b)
    assert run.of("lag") == []
    assert run.engine.counters["duplicates_or_late"] == 2


def test_a_late_interval_is_placed_by_its_time() -> None:
    run = Run().feed(join("s1", T0), stats("s1", T0 + 2000), stats("s1", T0 + 6000, bad=True),
                     stats("s1", T0 + 8000, bad=True), stats("s1", T0 + 4000, bad=True))
    [lag] = run.of("lag", "open")
    assert lag.started_at == T0 + 2000


def test_the_incident_id_is_stable_and_depends_on_session_and_start() -> None:
    def lag_id(sid: str, bad_from: int) -> str:
        run = Run().feed(join(sid, T0), *steady(sid, T0 + 2000, T0 + 30_000, bad_from=bad_from,
                                                  bad_to=bad_from + 4000))
        return run.of("lag", "open")[0].incident_id

    assert lag_id("s1", T0 + 10_000) == lag_id("s1", T0 + 10_000)
    assert lag_id("s1", T0 + 10_000) != lag_id("s2", T0 + 10_000)
    assert lag_id("s1", T0 + 10_000) != lag_id("s1", T0 + 12_000)


def test_thresholds_are_configuration() -> None:
    cfg = DetectionConfig(lag_window=3, lag_min_degraded=2, max_rtt_ms=200.0)
    events = [stats("s1", T0 + 2000, rtt_ms=250.0), stats("s1", T0 + 4000, rtt_ms=250.0)]
    assert Run(cfg).feed(join("s1", T0), *events).of("lag", "open")
