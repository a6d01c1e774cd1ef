"""`python -m bench`: benchmark figures, side by side in one run, as a Markdown report."""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import platform
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

CACHE = Path(os.environ.get("FIRSTCALL_BENCH_CACHE", Path.home() / ".cache" / "firstcall"))


def setting_env(text: str) -> tuple[str, str]:
    """FIRSTCALL_NAME=VALUE, checked against the settings: a misspelt one is an error."""
    from monitor.platform.settings import ConfigError, load_settings

    name, sep, value = text.partition("=")
    if not sep or not name.startswith("FIRSTCALL_"):
        raise argparse.ArgumentTypeError(f"{text!r}: expected FIRSTCALL_NAME=VALUE")
    try:
        checked = load_settings(None, {name: value})
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if checked.warnings:
        raise argparse.ArgumentTypeError("; ".join(checked.warnings))
    return name, value


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `python -m bench`."""
    p.add_argument("--events", type=int, default=1_000_000,
                   help="minimum events in the simulated replay stream (default 1,000,000)")
    p.add_argument("--sessions", default="100000",
                   help="concurrent sessions for the memory phase, comma-separated "
                        "(default 100000; e.g. 10000,100000,1000000)")
    p.add_argument("--seed", type=int, default=7, help="simulator seed")
    p.add_argument("--repeat", type=int, default=3, help="timed repetitions (best is kept)")
    p.add_argument("--phases", default="replay,memory,delay",
                   help="which phases: replay, memory, delay, kafka, collect, sdk, outage "
                   "(comma-separated)")
    p.add_argument("--outage-sessions", type=int, default=2000,
                   help="sessions of the outage phase's school (a fifth on the failed edge)")
    p.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True,
                   help="outage phase: run the same school with no outage first, for the "
                        "figures side by side (default on)")
    p.add_argument("--outage-speed", type=float, default=4.0,
                   help="outage phase: times the school's pace the telemetry is sent at")
    p.add_argument("--outage-env", metavar="FIRSTCALL_NAME=VALUE", action="append",
                   default=[], type=setting_env,
                   help="outage phase: a setting for every process of both runs, as its "
                        "environment variable (repeatable), e.g. "
                        "FIRSTCALL_LINE_SUSPECT_SHARE=0; the report names it")
    p.add_argument("--outage-dsn", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test",
                   help="case database of the outage phase (a fresh schema is not made: "
                        "give an empty database, or a SQLite path)")
    p.add_argument("--sdk-seconds", type=float, default=30.0,
                   help="seconds of the real call in the sdk phase")
    p.add_argument("--collect-seconds", type=float, default=10.0,
                   help="seconds per contender in the collect phase (collector vs bare producer)")
    p.add_argument("--collect-baseline", metavar="DIR",
                   help="a checkout of an earlier tree: its collector runs too, as it shipped "
                   "(no httptools/uvloop), for before/after in one run")
    p.add_argument("--kafka-messages", type=int, default=1_000_000,
                   help="messages in the Kafka phase's topic (default 1,000,000)")
    p.add_argument("--quix", action=argparse.BooleanOptionalAction, default=True,
                   help="in the Kafka phase, also run Quix Streams (needs the bench extra)")
    p.add_argument("--write", metavar="FILE",
                   help="append the Markdown report to FILE (default: print only)")


def _in_child(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run one phase in a fresh process so memory figures do not mix (fails if it dies)."""
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        result: dict[str, Any] = pool.submit(fn, *args).result()
    return result


def simulated_day(min_events: int, seed: int) -> tuple[Path, int]:
    """A simulated school day with at least `min_events` events, cached on disk."""
    from monitor.simulate import SimConfig, iter_lines

    CACHE.mkdir(parents=True, exist_ok=True)
    classrooms = max(4, min_events // 4000)
    while True:
        path = CACHE / f"bench-seed{seed}-rooms{classrooms}.jsonl"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            n = 0
            with open(tmp, "wb") as fh:
                for raw in iter_lines(SimConfig(seed=seed, classrooms=classrooms)):
                    fh.write(raw + b"\n")
                    n += 1
            tmp.rename(path)
        with open(path, "rb") as fh:
            n = sum(1 for _ in fh)
        if n >= min_events:
            return path, n
        classrooms = int(classrooms * min_events / max(n, 1) * 1.05) + 1


def delay_phase(seed: int) -> dict[str, Any]:
    """Detection delay and accuracy against the simulator's ground truth."""
    from monitor.simulate import FaultRates, SimConfig, simulate
    from monitor.simulate.family_score import family_score
    from monitor.simulate.score import score
    from monitor.streaming.assembly import replay_records
    from outreach.decide.decision import PolicyConfig

    sim = simulate(SimConfig(seed=seed, classrooms=60))
    records = replay_records(sim.lines())
    incidents = [r for r in records if r.get("record") == "incident"]
    s = score(incidents, sim.truth)
    # Families with recurring trouble too (chronic links, lag then drop), decided by the
    # 1.0 rules (a case per incident) and by the 1.1 rules (one family, one case).
    recurring = simulate(SimConfig(seed=seed, classrooms=60, faults=FaultRates(
        chronic_link=0.03, lag_then_drop=0.05)))
    families = {
        rules: family_score(replay_records(recurring.lines(), policy=PolicyConfig(
            family_cases=on)), recurring.truth).as_dict()
        for rules, on in (("1.0", False), ("1.1", True))}
    return {"events": len(sim), "score": s.as_dict(), "families": families}


def machine() -> str:
    """One line about this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.system()}"


def report(results: dict[str, Any], argv: list[str]) -> str:
    """The Markdown report."""
    lines = [
        f"## Run of {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        "",
        f"- command: `python -m bench {' '.join(argv)}`".rstrip(),
        f"- machine: {machine()}",
        "",
    ]
    rp = results.get("replay")
    if rp:
        lines += [f"### Replay throughput ({rp['events']:,} simulated events, "
                  f"{rp['bytes'] / 1e6:.0f} MB, one core, best of runs)", "",
                  "| contender | events/s | seconds |", "|---|---:|---:|"]
        for name, row in rp.items():
            if isinstance(row, dict) and "events_per_s" in row:
                lines.append(f"| {name} | {row['events_per_s']:,} | {row['seconds']} |")
        lines += ["", f"Peak RSS of the replay process: {rp['peak_rss_mb']} MB.", ""]
    mem = results.get("memory")
    if mem:
        lines += ["### Memory and time per tracked session (engine + line correlator + policy)",
                  "", "Each session joins and sends 8 stats intervals, all sessions live at once; "
                  "time is decode + detect + line + policy per event with that many sessions "
                  "held (how cost grows with sessions).", "",
                  "| sessions | traced bytes/session | RSS bytes/session | us/event |",
                  "|---:|---:|---:|---:|"]
        for row in mem:
            traced = row["traced_bytes_per_session"]
            lines.append(f"| {row['sessions']:,} | {'-' if traced is None else f'{traced:,}'} | "
                         f"{row['rss_bytes_per_session']:,} | {row.get('us_per_event', '-')} |")
        lines.append("")
    d = results.get("delay")
    if d:
        lines += ["### Detection against the simulator's ground truth", "",
                  f"{d['events']:,} events; scores and median delays by kind:", "",
                  "```", _fmt(d["score"]), "```", ""]
        fams = d.get("families")
        if fams:
            lines += [*FAMILY_TABLE_HEAD, *family_rows(fams), ""]
    k = results.get("kafka_report")
    if k:
        lines += [k, ""]
    for name in ("collect_report", "sdk_report", "outage_report"):
        if results.get(name):
            lines += [results[name], ""]
    return "\n".join(lines)


FAMILY_TABLE_HEAD = [
    "### Families with recurring trouble (the same day decided by each rule set)", "",
    "| figure | 1.0: a case per incident | 1.1: one family, one case | target (1.1) |",
    "|---|---|---|---|"]
FAMILY_ROWS = (
    ("long (>= 30 s) problems answered (own contact or a contacted case)",
     "long_problems_answered", "long_problems", ">= 0.97"),
    ("drops after chat-only contact escalated (call, SMS, technician)",
     "drops_after_chat_escalated", "drops_after_chat", ">= 0.95"),
    ("families with 3 problems in 10 min at a technician within a minute",
     "chronic_families_to_technician_in_time", "chronic_families", ">= 0.95"),
)


def family_rows(fams: dict[str, dict[str, Any]]) -> list[str]:
    """The family figures of each rule set, side by side."""
    old, new = fams["1.0"], fams["1.1"]
    rows = [f"| {title} | {old[share]:.3f} of {old[total]} | {new[share]:.3f} of {new[total]} "
            f"| {target} |" for title, share, total, target in FAMILY_ROWS]

    def delay(f: dict[str, Any]) -> str:
        return f"{_seconds(f['first_contact_p50_ms'])} / {_seconds(f['first_contact_p90_ms'])}"

    rows.append(f"| problem start -> first contact, p50 / p90 | {delay(old)} | {delay(new)} "
                "| p50 <= 20 s |")
    return rows


def _seconds(ms: float | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.1f} s"


def _fmt(obj: Any, indent: int = 0) -> str:
    pad = "  " * indent
    if isinstance(obj, dict):
        return "\n".join(
            f"{pad}{k}:\n{_fmt(v, indent + 1)}" if isinstance(v, dict | list)
            else f"{pad}{k}: {v}" for k, v in obj.items())
    if isinstance(obj, list):
        return "\n".join(_fmt(v, indent) for v in obj)
    return f"{pad}{obj}"


def run(args: argparse.Namespace) -> int:
    """Run the chosen phases and print (or write) the report."""
    from bench import replay_bench
    phases = {p.strip() for p in args.phases.split(",") if p.strip()}
    results: dict[str, Any] = {}
    t0 = time.perf_counter()
    if "replay" in phases:
        print(f"preparing a simulated day of >= {args.events:,} events ...", file=sys.stderr)
        path, n = simulated_day(args.events, args.seed)
        print(f"replay phase on {path} ({n:,} events) ...", file=sys.stderr)
        results["replay"] = _in_child(replay_bench.throughput_phase, str(path), args.repeat)
    if "memory" in phases:
        results["memory"] = []
        for n_sessions in (int(x) for x in args.sessions.split(",") if x.strip()):
            print(f"memory phase with {n_sessions:,} sessions ...", file=sys.stderr)
            results["memory"].append(_in_child(replay_bench.memory_phase, n_sessions))
    if "delay" in phases:
        print("detection delay phase ...", file=sys.stderr)
        results["delay"] = _in_child(delay_phase, args.seed)
    if "kafka" in phases:
        import importlib

        kafka_bench = importlib.import_module("bench.kafka_bench")
        kparser = argparse.ArgumentParser()
        kafka_bench.add_arguments(kparser)
        kargs = kparser.parse_args(["--messages", str(args.kafka_messages),
                                    "--quix" if args.quix else "--no-quix"])
        print("kafka phase (raw aiokafka, workers, latency, Quix) ...", file=sys.stderr)
        results["kafka"] = kafka_bench.run_phase(kargs)
        kafka_report = importlib.import_module("bench.kafka_report")
        results["kafka_report"] = kafka_report.report(
            results["kafka"], ["python -m bench", *sys.argv[1:]])
    if "collect" in phases:
        from bench import collect_bench

        print("collect phase (firstcall collect vs a bare aiokafka producer) ...", file=sys.stderr)
        baseline = Path(args.collect_baseline).resolve() if args.collect_baseline else None
        results["collect"] = collect_bench.run_phase(args.collect_seconds, baseline)
        results["collect_report"] = collect_bench.report(results["collect"])
    if "sdk" in phases:
        from bench import sdk_bench

        print("sdk phase (firstcall.js in Chromium) ...", file=sys.stderr)
        results["sdk_report"] = sdk_bench.report(sdk_bench.run_phase(args.sdk_seconds))
    if "outage" in phases:
        from bench import outage_bench, outage_figures

        print(f"outage phase ({args.outage_sessions:,} sessions, workers + correlator + "
              "outreach + desk on the Kafka test broker"
              f"{', after a baseline with no outage' if args.baseline else ''}) ...",
              file=sys.stderr)  # fmt: skip
        results["outage"] = outage_bench.run_phase(args.outage_sessions, args.outage_dsn,
                                                   args.outage_speed, baseline=args.baseline,
                                                   settings_env=dict(args.outage_env))
        results["outage_report"] = outage_figures.report(results["outage"])
    text = report(results, sys.argv[1:] if len(sys.argv) > 1 else [])
    print(text)
    if args.write:
        with open(args.write, "a") as fh:
            fh.write(text + "\n")
    print(f"bench done in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return 0
