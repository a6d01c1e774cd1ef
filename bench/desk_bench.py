"""`python -m bench.desk_bench`: the desk under a school: queue polls, pushes, memory (#20.4).

A child process (`bench.desk_child`) runs the real desk app on a fresh database (a new
PostgreSQL database dropped afterwards, or a SQLite file) with `--sessions` sessions in
its telemetry ring, `--live` live incidents, `--queued` cases waiting, fed a school's
telemetry. This process runs `--consoles` agent consoles (`bench.desk_consoles`), each
polling GET /api/queue every `--interval` s with its own token and holding its `/ws`
push channel, in two phases:

1. `--seconds` of polling while `--cases` cases are queued one by one from another
   engine, as `firstcall outreach` does (PostgreSQL: the NOTIFY path): GET /api/queue
   p50/p99/max, 200s and 304s, the desk's CPU per request (telemetry feeding included),
   and per queued case when the push reached each console and when its queue showed it.
2. With `--outage N`: RSS with the school loaded, then an edge outage of N sessions
   through the desk's views (their sessions leave for good), the consoles still polling;
   RSS at its peak and `--after-s` s after the outage (target: back within 20 %).

`--baseline DIR` runs the same for another checkout first (its packages first on the
path, this bench's code), e.g. a `git archive` of main, one after the other in one run.
Targets (#20.4): p99 <= 200 ms with 50 consoles and 20,000 live sessions; a queued case
reaches every console within 1 s; desk memory back within 20 % after an outage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.desk_child import rss_mb
from bench.desk_consoles import Seen, push_figures, run_consoles, spread

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
HERE = Path(__file__).resolve().parents[1]


def cpu_s(pid: int) -> float:
    """A process's CPU seconds so far (user + system, Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load() -> list[str]:
    """The machine's load average (1, 5, 15 min): it is shared."""
    return Path("/proc/loadavg").read_text().split()[:3]


def _database(kind: str, tmp: Path) -> tuple[str, str | None]:
    if kind == "sqlite":
        return str(tmp / "desk.db"), None
    import asyncpg  # type: ignore[import-untyped]

    name = f"fc_deskbench_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    asyncio.run(create())
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name, name


def _drop(name: str) -> None:
    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    asyncio.run(drop())


def _child_env(tree: Path | None, tmp: Path) -> tuple[dict[str, str], Path]:
    """The child's environment and working directory: another tree's packages first, this
    bench's code (a link to it alone), or simply this tree."""
    env = dict(os.environ)
    if tree is None:
        return env, HERE
    shim = tmp / "bench-only"
    shim.mkdir()
    (shim / "bench").symlink_to(HERE / "bench")
    env["PYTHONPATH"] = os.pathsep.join([str(shim), str(tree.resolve())])
    return env, shim


async def _phases(args: argparse.Namespace, base: str, tokens: list[str], pid: int,
                  dsn: str) -> dict[str, Any]:
    etag = not args.no_etag
    marks: dict[str, float] = {}
    end = [time.monotonic() + 3.0 + args.seconds]
    seen = await run_consoles(base, tokens, interval=args.interval, end=end, etag=etag,
                              dsn=dsn if args.db == "postgres" else None, cases=args.cases,
                              polling=lambda: marks.update(cpu=cpu_s(pid),
                                                           client=time.process_time()))
    busy = cpu_s(pid) - marks["cpu"]
    import httpx

    async with httpx.AsyncClient(base_url=base) as http:
        collections = (await http.get("/bench/gc")).json()
    out: dict[str, Any] = {
        "queue_ms": spread([t / 1000 for t in seen.took_ms]), "statuses": seen.statuses,
        "failed": seen.failed, "kb_per_request": round(
            seen.body_bytes / 1024 / max(1, len(seen.took_ms)), 1),
        "desk_cpu_s": round(busy, 2),
        "desk_cpu_ms_per_request": round(busy * 1000 / max(1, len(seen.took_ms)), 2),
        "pushes": push_figures(seen, len(tokens)), "desk_gc": collections,
        "bench_client_cpu_s": round(time.process_time() - marks["client"], 2),
        "load_after_polling": load()}
    if args.outage:
        out["outage"] = await _outage(args, base, tokens, pid, etag)
    return out


async def _outage(args: argparse.Namespace, base: str, tokens: list[str], pid: int,
                  etag: bool) -> dict[str, Any]:
    import httpx

    before = rss_mb(pid)
    end = [time.monotonic() + 3600.0]
    seen = Seen()
    consoles = asyncio.create_task(run_consoles(base, tokens, interval=args.interval, end=end,
                                                etag=etag, seen=seen))
    peak = before
    async with httpx.AsyncClient(base_url=base, timeout=600) as http:
        played = asyncio.create_task(http.post("/bench/outage",
                                               json={"sessions": args.outage}))
        while not played.done():
            await asyncio.sleep(0.5)
            peak = max(peak, rss_mb(pid))
        took = played.result().json()["seconds"]
    during = len(seen.took_ms)
    until = time.monotonic() + args.after_s
    while time.monotonic() < until:
        await asyncio.sleep(1.0)
        peak = max(peak, rss_mb(pid))
    after = rss_mb(pid)
    end[0] = 0.0
    await consoles
    return {"sessions": args.outage, "played_s": took, "rss_before_mb": round(before, 1),
            "rss_peak_mb": round(peak, 1), "after_s": args.after_s,
            "rss_after_mb": round(after, 1), "after_vs_before": round(after / before, 3),
            "queue_ms_while_played": spread([t / 1000 for t in seen.took_ms[:during]]),
            "queue_ms_after": spread([t / 1000 for t in seen.took_ms[during:]]),
            "load_after": load()}


def run(args: argparse.Namespace, tree: Path | None = None) -> dict[str, Any]:
    """Start the desk child (of `tree`, or this one), run the phases, return the figures."""
    from bench.kafka_broker import free_port

    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        dsn, dropped = _database(args.db, Path(tmp))
        env, cwd = _child_env(tree, Path(tmp))
        cmd = [sys.executable, "-m", "bench.desk_child", "--dsn", dsn, "--port", str(port),
               "--sessions", str(args.sessions), "--live", str(args.live),
               "--queued", str(args.queued), "--consoles", str(args.consoles),
               *([] if args.feed else ["--no-feed"]),
               *(["--profile", args.profile] if args.profile and tree is None else [])]
        child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=cwd)
        try:
            assert child.stdout is not None
            line = child.stdout.readline()
            while line and not line.startswith('{"tokens"'):  # log lines before it
                line = child.stdout.readline()
            ready = json.loads(line)
            figures = asyncio.run(_phases(args, f"http://127.0.0.1:{port}", ready["tokens"],
                                          child.pid, dsn))
            if args.profile and tree is None:
                os.kill(child.pid, signal.SIGUSR1)
                for _ in range(100):
                    if Path(args.profile).exists():
                        break
                    time.sleep(0.1)
                time.sleep(0.5)
        finally:
            child.terminate()
            child.wait(timeout=30)
            if dropped:
                _drop(dropped)
    return {"tree": str(tree) if tree else "this", "db": args.db, "sessions": args.sessions,
            "live_incidents": args.live, "queued": args.queued, "consoles": args.consoles,
            "telemetry_fed": args.feed, "interval_s": args.interval, "etag": not args.no_etag,
            "desk_rss_filled_mb": ready["filled_mb"], **figures}


def main() -> int:
    """Parse the options; run the bench (the baseline tree first when given)."""
    p = argparse.ArgumentParser(prog="python -m bench.desk_bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", type=int, default=20_000)
    p.add_argument("--consoles", type=int, default=50)
    p.add_argument("--live", type=int, default=2_000, help="live incidents in the views")
    p.add_argument("--queued", type=int, default=40, help="cases waiting in the queue")
    p.add_argument("--interval", type=float, default=1.0, help="each console's poll period")
    p.add_argument("--seconds", type=float, default=30.0, help="the polling phase")
    p.add_argument("--cases", type=int, default=20, help="cases queued during the polling")
    p.add_argument("--outage", type=int, default=0,
                   help="sessions of an edge outage after the polling (0: none)")
    p.add_argument("--after-s", type=float, default=60.0, help="RSS this long after it")
    p.add_argument("--no-feed", dest="feed", action="store_false",
                   help="no telemetry fed to the desk while it is polled")
    p.add_argument("--no-etag", action="store_true", help="consoles send no If-None-Match")
    p.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    p.add_argument("--baseline", type=Path, help="another checkout, run first (e.g. main)")
    p.add_argument("--profile", help="write this tree's desk CPU profile (cProfile) here")
    args = p.parse_args()
    out = []
    if args.baseline:
        out.append(run(args, args.baseline))
    out.append(run(args))
    print(json.dumps(out if args.baseline else out[0], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
