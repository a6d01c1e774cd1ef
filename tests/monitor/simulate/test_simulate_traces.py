"""The trace loader, on the real shipped traces and on hand-written samples."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.simulate.traces import (
    FAMILIES,
    TRACE_DIR,
    TraceFormatError,
    load_family,
    normalized,
    parse_samples,
    parse_trace,
    per_second,
)

MANIFEST_COUNTS = {"cooked_3gp": 80, "fcc_ori_test_traces": 88, "traces_oboe": 428}


@pytest.mark.parametrize("family", FAMILIES)
def test_every_shipped_trace_of_a_family_loads(family: str) -> None:
    traces = load_family(family)
    assert len(traces) == MANIFEST_COUNTS[family]
    for trace in traces:
        assert trace.family == family
        assert trace.seconds >= 60
        assert all(v >= 0 for v in trace.kbps)


def test_a_real_file_becomes_a_per_second_series_holding_each_value() -> None:
    path = TRACE_DIR / "cooked_3gp" / "norway_bus_1"
    samples = parse_samples(path.read_text())
    trace = parse_trace(path)
    t0 = samples[0][0]
    assert trace.seconds == int(samples[-1][0] - t0) + 1
    # first line of norway_bus_1 is "0.0 4.03768755221": 4.04 Mbit/s held until 0.55 s
    assert trace.kbps[0] == pytest.approx(4037.68755221)
    for second in (1, 17, 100, trace.seconds - 1):
        held = [mbps for t, mbps in samples if t - t0 <= second][-1]
        assert trace.kbps[second] == pytest.approx(held * 1000)


def test_fcc_traces_start_late_and_are_shifted_to_zero() -> None:
    path = TRACE_DIR / "fcc_ori_test_traces" / "trace_797466_http---www.amazon_part1.log"
    trace = parse_trace(path)
    samples = parse_samples(path.read_text())
    assert samples[0][0] == 180.0
    assert trace.kbps[0] == pytest.approx(samples[0][1] * 1000)
    assert trace.kbps[4] == pytest.approx(samples[0][1] * 1000)  # held 180..184 s
    assert trace.kbps[5] == pytest.approx(samples[1][1] * 1000)


def test_hold_last_value_with_irregular_samples() -> None:
    samples = parse_samples("0.0\t1.0\n0.4\t2.0\n2.5\t0.5\n\n3.0\t4\n")
    assert per_second(samples) == [1000.0, 2000.0, 2000.0, 4000.0]


def test_unsorted_samples_are_sorted_by_time() -> None:
    assert per_second(parse_samples("1.0 2\n0.0 1\n")) == [1000.0, 2000.0]


@pytest.mark.parametrize("text", ["0.0 1.0 7\n", "zero 1\n", "0.0\n", "0 -1\n", "", "\n\n"])
def test_malformed_trace_text_is_rejected_with_the_place(text: str) -> None:
    with pytest.raises(TraceFormatError, match="<text>"):
        parse_samples(text)


def test_parsed_families_are_cached() -> None:
    assert load_family("traces_oboe") is load_family("traces_oboe")
    assert normalized("cooked_3gp") is normalized("cooked_3gp")


def test_normalized_traces_are_mostly_above_one() -> None:
    for family in FAMILIES:
        values = [v for t in normalized(family) for v in t]
        assert sum(v >= 1.0 for v in values) / len(values) > 0.85


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "cooked_3gp").mkdir()
    with pytest.raises(FileNotFoundError):
        load_family("cooked_3gp", tmp_path)
