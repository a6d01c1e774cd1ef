"""`python -m bench --phases kafka` runs end to end on a small topic (figures are not judged)."""

from __future__ import annotations

import argparse

import pytest

from bench import kafka_bench, kafka_latency, kafka_report, kafka_school
from bench.kafka_broker import TansuBroker

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]


async def test_the_kafka_benchmark_measures_every_contender_and_reports_them(
    kafka_broker: TansuBroker,
) -> None:
    args = argparse.Namespace(
        messages=150_000, kafka_sessions=2000, quix=False, rate_sweep="0.2", kafka_rounds=1,
        latency_seconds=2.0, sweep_seconds=2.0, warmup_seconds=1.0,
    )  # fmt: skip
    assert kafka_broker.proc is not None
    result = await kafka_bench._run(args, kafka_broker.bootstrap, kafka_broker)

    n = result["messages"]
    assert n == 150_000
    for key in ("raw_aiokafka", "raw_aiokafka_lean"):
        assert result[key]["records"] >= n
    for key in ("worker_1_process_stock", "worker_1_process_pure", "worker_1_process_gc_off",
                "worker_1_process_no_handoff", "worker_1_process", "worker_2_processes"):
        row = result[key]
        assert row["records"] == n, f"{key} committed everything"
        assert row["per_s"] > 0
        assert row["cpu_us_per_record"] is not None and row["cpu_us_per_record"] > 0
        assert 0 < row["machine_busy_share"] <= 1
    assert result["worker_1_process_stock"]["record_path"] == "stock"
    assert result["worker_1_process"]["record_path"] == "lean"

    sweep = result["rate_sweep"]
    assert [(p["fraction"], p["broker"], p["fetch_handoff"]) for p in sweep] == [
        (0.5, "holding", True), (0.2, "fresh", True), (0.5, "fresh", True), (0.5, "fresh", False)
    ], ("half capacity is always measured: on a restarted broker, on the one left as it was, "
        "and with the fetch hand-off undone")
    for point in sweep:
        assert point["achieved_per_s"] > 0
        assert 0 < point["worker_cpu_share"] < 2
        assert point["worker_cpu_us_per_event"] > 0
        assert 0 < point["generator_cpu_share"] < 2, "the load generator's own CPU"
        assert 0 < point["broker_cpu_share"] < 2, "the broker's CPU"
        assert point["broker_rss_mb"] > 0
    assert result["latency_at_half_capacity"] is sweep[2]
    assert sweep[0]["broker_rss_mb"] > sweep[2]["broker_rss_mb"], "the restart emptied the broker"

    text = kafka_report.report(result, ["python", "-m", "bench"])
    assert "raw aiokafka `getmany` on the lean record path" in text
    assert "detectors from their Python source" in text
    assert "Python's default garbage collection" in text
    assert "compiled / Python-source detectors" in text
    assert "How cost grows with the event rate" in text
    assert text.count("\n| 0.") == 4, "one sweep row per live run"
    assert "| 0.5 (no fetch hand-off) |" in text
    assert "With the fetch hand-off undone" in text
    assert "fetch hand-off / none" in text
    assert "as the throughput rounds left it" in text
    assert result["latency_at_half_capacity"]["p99_ms_by_window"], "p99 per 5 s stretch"
    assert "p99 over each 5 s of the counted window" in text
    assert "restarted, empty" in text
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert len({line.count("|") for line in table[:8]}) == 1, "every throughput row has 5 cells"


def test_rounds_are_summarised_by_the_median_run_and_paired_ratios() -> None:
    rows = [{"per_s": 300, "cpu": "c"}, {"per_s": 100, "cpu": "a"}, {"per_s": 200, "cpu": "b"}]
    assert kafka_bench._median_row(rows) == {"per_s": 200, "cpu": "b",
                                             "all_per_s": [300, 100, 200]}
    raw = [{"per_s": 600}, {"per_s": 200}, {"per_s": 400}]
    paired = kafka_bench._paired(rows, raw)
    assert paired == {"median": 0.5, "min": 0.5, "max": 0.5, "rounds": 3}, "same round, same odds"


def test_rate_fractions_always_include_half_capacity_and_refuse_nonsense() -> None:
    assert kafka_bench._fractions("0.75,0.1") == [0.1, 0.5, 0.75]
    assert kafka_bench._fractions("0.5") == [0.5]
    with pytest.raises(ValueError, match="fractions"):
        kafka_bench._fractions("0,0.5")


def test_p99_by_window_splits_the_counted_time_into_stretches_in_order() -> None:
    start = 1_000_000
    timed = [(start + 100 + i, 10.0) for i in range(50)]  # first 5 s: all fast
    timed += [(start + 5_000 + i, 10.0 if i < 98 else 400.0) for i in range(100)]  # a slow tail
    timed += [(start + 10_500, 30.0)]  # a lone incident is its own p99
    assert kafka_latency.p99_by_window(timed, start, 5.0) == [10.0, pytest.approx(400.0), 30.0]


def test_the_live_generators_templates_give_exactly_the_stats_messages() -> None:
    school = kafka_school.School(sessions=60)
    for k in range(60):
        for bad in (False, True):
            ts = 1_795_000_000_123 + k
            assert school.stats_bytes(k, ts, bad) == school.stats(k, ts, bad).value


def test_latency_is_judged_at_half_capacity_as_shipped_never_on_the_held_broker() -> None:
    def run(fraction: float, broker: str, handoff: bool = True) -> dict[str, object]:
        return {"fraction": fraction, "broker": broker, "fetch_handoff": handoff}

    restarted = [run(0.5, "holding"), run(0.1, "fresh"), run(0.5, "fresh"),
                 run(0.5, "fresh", handoff=False)]  # fmt: skip
    assert kafka_bench.half_capacity_point(restarted) is restarted[2]
    shared = [run(0.1, "shared"), run(0.5, "shared"), run(0.5, "shared", handoff=False)]
    assert kafka_bench.half_capacity_point(shared) is shared[1], "an external broker too"
