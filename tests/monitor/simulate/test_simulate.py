"""The simulator's stream: determinism, contract validity, messy-delivery bounds, APIs."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gzip
import itertools
import random
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.telemetry import BadRecord, TelemetryDecoder
from monitor.apps.simulate import add_arguments, run
from monitor.simulate import (
    CLEAN_DELIVERY,
    FaultRates,
    MessConfig,
    SimConfig,
    feed_live,
    iter_lines,
    simulate,
)
from monitor.simulate.mess import deliver

SMALL = SimConfig(seed=4, classrooms=4, lesson_minutes_min=10, lesson_minutes_max=14)
BUSY = dataclasses.replace(
    SMALL,
    classrooms=8,
    faults=FaultRates(
        wifi_drop=0.3,
        app_crash=0.3,
        crash_no_return=0.1,
        cellular_fade=0.5,
        flapping_wifi=0.2,
        blip=0.4,
        near_lag=0.1,
        marginal_lag=0.1,
        ok_at_10s=0.1,
        stall_10s=0.1,
        edge_outage_per_edge_hour=2.0,
        isp_degradation_per_line_hour=1.0,
    ),
    mess=MessConfig(duplicate_rate=0.05, reorder_rate=0.2, drop_stats_rate=0.05),
)


@pytest.fixture(scope="module")
def busy() -> Any:
    return simulate(BUSY)


def test_same_seed_same_bytes_and_truth() -> None:
    a, b = simulate(SMALL), simulate(SMALL)
    assert list(a.lines()) == list(b.lines())
    assert a.truth == b.truth


def test_another_seed_another_day() -> None:
    assert list(simulate(SMALL).lines()) != list(
        simulate(dataclasses.replace(SMALL, seed=5)).lines()
    )


def test_the_streaming_form_yields_the_same_bytes() -> None:
    assert list(iter_lines(BUSY)) == list(simulate(BUSY).lines())


def test_every_event_decodes_cleanly(busy: Any) -> None:
    decoder = TelemetryDecoder()
    lines = list(busy.lines())
    bad = [r for r in decoder.decode_batch(lines) if isinstance(r, BadRecord)]
    assert bad == []
    assert {type(e).__name__ for e in decoder.decode_batch(lines)} == {
        "Join",
        "Stats",
        "Heartbeat",
        "Reconnect",
        "Disconnect",
        "Leave",
    }


def test_lines_are_single_json_objects_without_newlines(busy: Any) -> None:
    for raw in busy.lines():
        assert b"\n" not in raw
        assert isinstance(orjson.loads(raw), dict)


def test_sessions_join_first_send_every_interval_and_leave_last() -> None:
    result = simulate(dataclasses.replace(SMALL, mess=CLEAN_DELIVERY))
    by_sid: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in result.clean:
        by_sid[e["session_id"]].append(e)
    for evs in by_sid.values():
        assert evs[0]["type"] == "join"
        assert evs[-1]["type"] in ("leave", "stats", "heartbeat", "disconnect")
        media = [e for e in evs if e["type"] in ("stats", "heartbeat")]
        gaps = Counter(b["ts"] - a["ts"] for a, b in itertools.pairwise(media))
        interval = next(e["interval_ms"] for e in evs if e["type"] == "stats")
        assert gaps.most_common(1)[0][0] == interval


def test_clean_delivery_is_the_clean_stream_in_time_order() -> None:
    result = simulate(dataclasses.replace(BUSY, mess=CLEAN_DELIVERY))
    assert [orjson.loads(raw) for raw in result.lines()] == result.clean
    times = [e["ts"] for e in result.clean]
    assert times == sorted(times)


def true_events(result: Any) -> list[tuple[int, dict[str, Any]]]:
    """Delivered events with the client's clock skew taken off again (true time)."""
    skew = {s["session_id"]: s["skew_ms"] for s in result.sessions}
    out = []
    for raw in result.lines():
        e = orjson.loads(raw)
        e["ts"] -= skew[e["session_id"]]
        out.append((e["ts"], e))
    return out


def test_skew_is_one_bounded_offset_per_client(busy: Any) -> None:
    assert all(abs(s["skew_ms"]) <= BUSY.mess.max_skew_ms for s in busy.sessions)
    assert len({s["skew_ms"] for s in busy.sessions}) > 5
    clean = {orjson.dumps(e) for e in busy.clean}
    for _, e in true_events(busy):
        assert orjson.dumps(e) in clean  # with its offset removed, every event is a clean one


def test_reordering_never_displaces_an_event_by_more_than_the_lateness_bound(busy: Any) -> None:
    newest = 0
    worst = 0
    for ts, _ in true_events(busy):
        newest = max(newest, ts)
        worst = max(worst, newest - ts)
    assert 0 < worst <= BUSY.mess.max_lateness_ms


def test_duplicates_and_drops_happen_at_about_their_rates(busy: Any) -> None:
    clean = Counter(orjson.dumps(e) for e in busy.clean)
    seen = Counter(orjson.dumps(e) for _, e in true_events(busy))
    dupes = sum(max(0, n - 1) for n in seen.values())
    dropped = [orjson.loads(raw) for raw in clean if raw not in seen]
    assert all(e["type"] == "stats" for e in dropped)
    n = len(busy.clean)
    assert 0.03 * n < dupes < 0.07 * n
    stats = sum(1 for e in busy.clean if e["type"] == "stats")
    assert 0.03 * stats < len(dropped) < 0.07 * stats


def test_truth_does_not_depend_on_the_mess(busy: Any) -> None:
    assert simulate(dataclasses.replace(BUSY, mess=CLEAN_DELIVERY)).truth == busy.truth


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 5000), min_size=1, max_size=200),
    st.integers(0, 5000),
    st.floats(0, 1),
    st.floats(0, 0.5),
    st.integers(0, 2**32),
)
def test_delivery_order_respects_the_lateness_bound(
    steps: list[int], late: int, reorder: float, dup: float, seed: int
) -> None:
    t = 1_767_258_000_000
    items = []
    for i, step in enumerate(steps):
        t += step
        items.append((t, i % 3, i, {"type": "heartbeat", "ts": t, "n": i}))
    mess = MessConfig(
        duplicate_rate=dup,
        reorder_rate=reorder,
        max_lateness_ms=late,
        max_skew_ms=0,
        drop_stats_rate=0.0,
    )
    out = list(deliver(items, [0, 0, 0], mess, random.Random(seed)))
    delivered = [d for d, _ in out]
    assert delivered == sorted(delivered)
    newest = 0
    for d, raw in out:
        ts = orjson.loads(raw)["ts"]
        assert ts <= d <= ts + late
        newest = max(newest, ts)
        assert newest - ts <= late
    assert {orjson.loads(raw)["n"] for _, raw in out} == set(range(len(steps)))


async def test_feed_live_delivers_everything_in_order_at_speed() -> None:
    config = SimConfig(
        seed=2,
        classrooms=1,
        students_min=2,
        students_max=2,
        lesson_minutes_min=5,
        lesson_minutes_max=5,
    )
    got: list[bytes] = []

    async def sink(raw: bytes) -> None:
        got.append(raw)

    loop = asyncio.get_running_loop()
    started = loop.time()
    count = await feed_live(config, sink, speed=2000.0)
    elapsed = loop.time() - started
    assert count == len(got) == len(list(iter_lines(config)))
    assert got == list(iter_lines(config))
    assert 0.05 < elapsed < 10


async def test_feed_live_accepts_a_plain_function() -> None:
    config = SimConfig(
        seed=2,
        classrooms=1,
        students_min=1,
        students_max=1,
        lesson_minutes_min=5,
        lesson_minutes_max=5,
    )
    got: list[bytes] = []
    assert await feed_live(config, got.append, speed=5000.0) == len(got) > 0


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_cli_writes_telemetry_truth_and_faults(tmp_path: Path) -> None:
    out, truth, faults = tmp_path / "t.jsonl.gz", tmp_path / "truth.jsonl", tmp_path / "f.jsonl"
    args = parse(
        "--seed",
        "4",
        "--classrooms",
        "4",
        "--lesson-minutes",
        "10-14",
        "--out",
        str(out),
        "--truth",
        str(truth),
        "--faults-out",
        str(faults),
        "--quiet",
    )
    assert run(args) == 0
    lines = gzip.decompress(out.read_bytes()).splitlines()
    assert lines == list(simulate(SMALL).lines())
    rows = [orjson.loads(x) for x in truth.read_bytes().splitlines()]
    assert rows == simulate(SMALL).truth
    assert faults.exists()


def test_cli_events_option_sizes_the_school() -> None:
    from monitor.apps.simulate import config_from_args

    config = config_from_args(parse("--events", "1000000"))
    per_session = 32.5 * 30
    sessions = config.classrooms * 5.5
    assert 0.9e6 < sessions * per_session < 1.2e6


def test_cli_fault_and_mess_switches() -> None:
    from monitor.apps.simulate import config_from_args

    config = config_from_args(
        parse("--faults", "none", "--fault", "blip=0.5", "--mess", "none", "--skew-ms", "500")
    )
    assert config.faults.blip == 0.5 and config.faults.wifi_drop == 0.0
    assert config.mess.max_skew_ms == 500 and config.mess.duplicate_rate == 0.0


def test_cli_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse("--help")
    text = capsys.readouterr().out
    for option in ("--out", "--truth", "--seed", "--events", "--fault", "--mess", "--skew-ms"):
        assert option in text


def test_diagnosis_tells_delivery_losses_from_detector_mistakes() -> None:
    from monitor.simulate.diagnose import explain
    from monitor.simulate.score import score

    result = simulate(dataclasses.replace(BUSY, mess=MessConfig(drop_stats_rate=0.3)))
    perfect = [{**r, "record": "incident", "state": "open"} for r in result.truth]
    assert explain(result, score(perfect, result.truth)) == []
    # a detector that found nothing: some misses are explained by the lost stats
    causes = {item["cause"] for item in explain(result, score([], result.truth))}
    assert causes == {"lost in delivery (dropped stats)", "detector"}
    bogus = {
        "record": "incident",
        "state": "open",
        "kind": "lag",
        "session_id": "nobody",
        "started_at": 0,
        "detected_at": 0,
    }
    (item,) = explain(result, score([*perfect, bogus], result.truth))
    assert item == {"extra": bogus, "cause": "detector"}


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 60_000), max_size=30), max_size=12),
    st.integers(1, 20_000),
)
def test_merging_in_time_slices_equals_a_full_sort(starts: list[list[int]], slice_ms: int) -> None:
    from monitor.simulate.run import merge_in_slices

    streams: list[list[tuple[int, int, int, dict[str, Any]]]] = [
        [(t, i, k, {}) for k, t in enumerate(sorted(times))] for i, times in enumerate(starts)
    ]
    merged = list(merge_in_slices((iter(s) for s in streams), slice_ms))
    assert merged == sorted(item for s in streams for item in s)
