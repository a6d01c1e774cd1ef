"""`python -m bench.desk_bench`: GET /api/queue under a school's live sessions and polling consoles.

A child process runs the real desk app (`create_app` over `Desk`, uvicorn) on a fresh
database (SQLite file, or a new PostgreSQL database dropped afterwards) with
`--sessions` joined sessions in its telemetry ring (150 stats points each),
`--live` live incidents in its views and `--queued` cases waiting, and keeps feeding
it telemetry: one stats record per session every 2 s (a school's rate). This process
runs `--consoles` agents, each polling GET /api/queue every `--interval` s with its own
token, for `--seconds`, and prints the latency p50/p99/max, the child's CPU time per
request (telemetry feeding included; less dependent on a busy machine than the latency)
and its memory.
Target (#20.4): p99 <= 200 ms with 50 consoles and 20,000 live sessions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
T0 = 1_767_258_000_000


def _join(i: int, ts: int) -> bytes:
    return orjson.dumps({
        "v": 1, "type": "join", "ts": ts, "session_id": f"s{i}", "student_id": f"stu-{i}",
        "classroom_id": f"room-{i % 50}",
        "client": {"app_version": "5.1.3", "os": "win", "device": "pc"},
        "network": {"conn": "wifi", "isp": f"isp-{i % 7}", "region": f"r-{i % 5}",
                    "edge": f"edge-{i % 11}"},
        "lesson": {"scheduled_start": T0, "scheduled_end": T0 + 3_600_000,
                   "teacher_id": f"t-{i % 50}"}})


def _stats(i: int, ts: int) -> bytes:
    return orjson.dumps({
        "v": 1, "type": "stats", "ts": ts, "session_id": f"s{i}", "student_id": f"stu-{i}",
        "classroom_id": f"room-{i % 50}", "interval_ms": 2000, "rtt_ms": 60.0 + i % 40,
        "loss_pct": 0.2, "fps": 25.0, "freeze_ms": 0, "jitter_ms": 4.0, "recv_kbps": 900.0,
        "audio_stall_ms": 0})


def rss_mb(pid: int) -> float:
    """A process's resident memory now, in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(pid: int) -> float:
    """A process's CPU seconds so far (user + system, Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _child(args: argparse.Namespace) -> None:
    import uvicorn

    from detectors.records import Incident
    from monitor.desk.app import create_app
    from monitor.desk.desk import Desk
    from monitor.desk.ring import TelemetryRing
    from monitor.platform.logging import configure
    from outreach.decide.clock import now_ms
    from outreach.store.cases import CaseStore
    from outreach.store.db import open_database
    from outreach.store.queue import QueueStore
    from outreach.store.users import UserStore

    configure("WARNING")
    engine = await open_database(args.dsn)
    store = CaseStore(engine, now_ms)
    queue = QueueStore(engine, store, now_ms)
    ring = TelemetryRing(max_sessions=max(20_000, args.sessions))
    desk = Desk(store, queue, ring, now_ms)
    users = UserStore(engine)
    tokens = [await users.add(f"agent-{n}", "agent") for n in range(args.consoles)]
    now = now_ms()
    n = args.sessions
    ring.feed_raw(_join(i, now - 300_000) for i in range(n))
    stats = [_stats(i, now - 300_000) for i in range(n)]  # made once, fed again and again
    for _ in range(150):  # the ring's whole depth for every session
        ring.feed_raw(stats)
    for i in range(args.live):
        inc = Incident(incident_id=f"lag-{i}", kind="lag", state="open",
                       started_at=now - 60_000 - i, detected_at=now - 50_000, ended_at=None,
                       line={"edge": f"edge-{i % 11}", "isp": f"isp-{i % 7}", "region": "r"},
                       evidence={}, session_id=f"s{i}", student_id=f"stu-{i}",
                       classroom_id=f"room-{i % 50}")
        desk.state.live[inc.incident_id] = inc
        if i < args.queued:
            case = await store.record_incident(inc, {})
            await queue.enqueue(case, "sms_unanswered")
    filled_mb = rss_mb(os.getpid())
    app = create_app(desk, users)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=args.port,
                                           log_level="warning", lifespan="on"))

    async def feed() -> None:  # one stats record per session every 2 s, in 10 slices
        tick = 0
        while args.feed:
            await asyncio.sleep(0.2)
            due = stats[tick % 10::10]
            for i in range(0, len(due), 500):  # in slices, as `firstcall serve` feeds its ring
                ring.feed_raw(due[i:i + 500])
                await asyncio.sleep(0)
            tick += 1

    feeder = asyncio.create_task(feed())
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    print(json.dumps({"tokens": tokens, "filled_mb": round(filled_mb, 1)}), flush=True)
    await serving
    feeder.cancel()
    await engine.dispose()


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(q * len(s) + 0.999999) - 1))] if s else float("nan")


async def _poll(base: str, tokens: list[str], interval: float,
                seconds: float) -> tuple[list[float], int]:
    took: list[float] = []
    failed = 0
    limits = httpx.Limits(max_connections=len(tokens) + 5)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        end = time.monotonic() + seconds

        async def console(token: str) -> None:
            await asyncio.sleep(random.random() * interval)
            while time.monotonic() < end:
                nonlocal failed
                start = time.perf_counter()
                try:
                    r = await http.get("/api/queue",
                                       headers={"Authorization": f"Bearer {token}"})
                    r.raise_for_status()
                    took.append((time.perf_counter() - start) * 1000)
                except httpx.HTTPError:  # counted, not timed (e.g. a closed keep-alive)
                    failed += 1
                await asyncio.sleep(max(0.0, interval - (time.perf_counter() - start)))

        await asyncio.gather(*(console(t) for t in tokens))
    return took, failed


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


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start the desk child, poll it, and return the figures."""
    from bench.kafka_broker import free_port

    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        dsn, dropped = _database(args.db, Path(tmp))
        cmd = [sys.executable, "-m", "bench.desk_bench", "--child", "--dsn", dsn,
               "--port", str(port), "--sessions", str(args.sessions), "--live", str(args.live),
               "--queued", str(args.queued), "--consoles", str(args.consoles),
               *([] if args.feed else ["--no-feed"])]
        child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout is not None
            line = child.stdout.readline()
            while line and not line.startswith('{"tokens"'):  # log lines before it
                line = child.stdout.readline()
            ready = json.loads(line)
            cpu_before = cpu_s(child.pid)
            took, failed = asyncio.run(_poll(f"http://127.0.0.1:{port}", ready["tokens"],
                                     args.interval, args.seconds))
            after_mb = rss_mb(child.pid)
            busy = cpu_s(child.pid) - cpu_before
        finally:
            child.terminate()
            child.wait(timeout=30)
            if dropped:
                _drop(dropped)
    return {"db": args.db, "sessions": args.sessions, "live_incidents": args.live,
            "queued": args.queued, "consoles": args.consoles, "telemetry_fed": args.feed,
            "interval_s": args.interval,
            "requests": len(took), "failed": failed, "p50_ms": round(_pct(took, 0.5), 1),
            "p99_ms": round(_pct(took, 0.99), 1), "max_ms": round(max(took), 1),
            "desk_cpu_s": round(busy, 2),
            "desk_cpu_ms_per_request": round(busy * 1000 / max(1, len(took)), 2),
            "load_average": Path("/proc/loadavg").read_text().split()[:3],
            "desk_rss_filled_mb": ready["filled_mb"], "desk_rss_after_mb": round(after_mb, 1)}


def main() -> int:
    """Parse the options; run the bench (or, with --child, the desk it polls)."""
    p = argparse.ArgumentParser(prog="python -m bench.desk_bench", description=__doc__)
    p.add_argument("--sessions", type=int, default=20_000)
    p.add_argument("--consoles", type=int, default=50)
    p.add_argument("--live", type=int, default=2_000, help="live incidents in the views")
    p.add_argument("--queued", type=int, default=40, help="cases waiting in the queue")
    p.add_argument("--interval", type=float, default=1.0, help="each console's poll period")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--no-feed", dest="feed", action="store_false",
                   help="no telemetry fed to the desk while it is polled")
    p.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--dsn", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        asyncio.run(_child(args))
        return 0
    print(json.dumps(run(args), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
