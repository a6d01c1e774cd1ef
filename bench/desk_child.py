"""The desk process of `bench.desk_bench`: the real desk app over a school's telemetry.

`python -m bench.desk_child --dsn DSN --port P ...` runs `create_app` over `Desk` with
uvicorn (lifespan on: on PostgreSQL it follows the database's notices like `firstcall
serve`), `--sessions` joined sessions in its telemetry ring (150 stats points each),
`--live` live incidents, `--queued` cases waiting, and feeds it one stats record per
session every 2 s (a school's rate) in slices, as `firstcall serve` feeds its ring. It
prints one JSON line with the consoles' tokens when it listens.

Bench-only routes (no token; the process listens on 127.0.0.1 for the bench alone):
POST /bench/outage `{"sessions": N}` plays an edge outage through the desk's views: a
line incident naming N sessions and one disconnect incident each, their disconnects in
the ring; 5 s later the incidents close and the sessions leave for good.
With `--profile FILE` the desk's CPU profile (cProfile, CPU time) is written on SIGUSR1.
It imports only what both this tree and an older one have, so it can run on either
(`--baseline` of the bench puts the other tree's packages first on the path).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import signal
import time
from pathlib import Path
from typing import Any, Literal

import orjson

T0 = 1_767_258_000_000


def join(i: int, ts: int) -> bytes:
    """Session i's join: classroom, device, line (11 edges), lesson."""
    return orjson.dumps({
        "v": 1, "type": "join", "ts": ts, "session_id": f"s{i}", "student_id": f"stu-{i}",
        "classroom_id": f"room-{i % 50}",
        "client": {"app_version": "5.1.3", "os": "win", "device": "pc"},
        "network": {"conn": "wifi", "isp": f"isp-{i % 7}", "region": f"r-{i % 5}",
                    "edge": f"edge-{i % 11}"},
        "lesson": {"scheduled_start": T0, "scheduled_end": T0 + 3_600_000,
                   "teacher_id": f"t-{i % 50}"}})


def stats(i: int, ts: int) -> bytes:
    """Session i's stats record (a healthy class)."""
    return orjson.dumps({
        "v": 1, "type": "stats", "ts": ts, "session_id": f"s{i}", "student_id": f"stu-{i}",
        "classroom_id": f"room-{i % 50}", "interval_ms": 2000, "rtt_ms": 60.0 + i % 40,
        "loss_pct": 0.2, "fps": 25.0, "freeze_ms": 0, "jitter_ms": 4.0, "recv_kbps": 900.0,
        "audio_stall_ms": 0})


def _event(kind: str, i: int, ts: int, **more: Any) -> bytes:
    return orjson.dumps({"v": 1, "type": kind, "ts": ts, "session_id": f"s{i}",
                         "student_id": f"stu-{i}", "classroom_id": f"room-{i % 50}", **more})


def rss_mb(pid: int | str = "self") -> float:
    """A process's resident memory now, in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def child(args: argparse.Namespace) -> None:
    """Fill the desk, serve it, feed it telemetry until terminated."""
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

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
    ring.feed_raw(join(i, now - 300_000) for i in range(n))
    feed = [stats(i, now - 300_000) for i in range(n)]  # made once, fed again and again
    for _ in range(150):  # the ring's whole depth for every session
        ring.feed_raw(feed)

    def incident(iid: str, i: int, state: Literal["open", "closed"], at: int,
                 **more: Any) -> Incident:
        return Incident(incident_id=iid, kind=more.pop("kind", "lag"), state=state,
                        started_at=at, detected_at=at + 10_000, ended_at=more.pop("ended", None),
                        line={"edge": f"edge-{i % 11}", "isp": f"isp-{i % 7}", "region": "r"},
                        evidence={}, session_id=f"s{i}", student_id=f"stu-{i}",
                        classroom_id=f"room-{i % 50}", **more)

    for i in range(args.live):
        inc = incident(f"lag-{i}", i, "open", now - 60_000 - i)
        desk.state.live[inc.incident_id] = inc
        if i < args.queued:
            case = await store.record_incident(inc, {})
            await queue.enqueue(case, "sms_unanswered")
    filled_mb = rss_mb()
    gone: set[int] = set()

    async def outage(request: Request) -> JSONResponse:
        size = int((await request.json())["sessions"])
        started, at = time.perf_counter(), now_ms()
        ids = [i for i in range(n - size, n)]  # the last sessions: not the live ones
        line = Incident(incident_id="line-bench", kind="line", state="open", started_at=at,
                        detected_at=at, ended_at=None, line={"edge": "edge-x"}, evidence={},
                        sessions=[f"s{i}" for i in ids], session_count=len(ids))
        await desk.apply(line)
        ring.feed_raw(_event("disconnect", i, at, reason="network") for i in ids)
        gone.update(ids)
        for i in ids:
            await desk.apply(incident(f"disc-{i}", i, "open", at, kind="disconnect"))
        await asyncio.sleep(5)
        end = now_ms()
        for i in ids:
            await desk.apply(incident(f"disc-{i}", i, "closed", at, kind="disconnect",
                                      ended=end))
        await desk.apply(Incident(incident_id="line-bench", kind="line", state="closed",
                                  started_at=at, detected_at=at, ended_at=end,
                                  line={"edge": "edge-x"}, evidence={}, sessions=[],
                                  session_count=len(ids)))
        ring.feed_raw(_event("leave", i, end) for i in ids)
        return JSONResponse({"seconds": round(time.perf_counter() - started, 1)})

    pauses: list[float] = []  # the desk's gen-2 garbage collections, seconds each
    began: list[float] = [0.0]

    def timed(phase: str, info: dict[str, int]) -> None:
        if info["generation"] == 2:
            if phase == "start":
                began[0] = time.perf_counter()
            else:
                pauses.append(time.perf_counter() - began[0])

    gc.callbacks.append(timed)

    async def collections(request: Request) -> JSONResponse:
        return JSONResponse({"gen2": len(pauses),
                             "gen2_max_ms": round(max(pauses or [0]) * 1000, 1),
                             "gen2_total_ms": round(sum(pauses) * 1000, 1)})

    app = create_app(desk, users, extra_routes=[
        Route("/bench/outage", outage, methods=["POST"]), Route("/bench/gc", collections)])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=args.port,
                                           log_level="warning", lifespan="on"))

    async def feeding() -> None:  # one stats record per session every 2 s, in 10 slices
        tick = 0
        while args.feed:
            await asyncio.sleep(0.2)
            due = [r for k, r in enumerate(feed[tick % 10::10]) if tick % 10 + 10 * k not in gone]
            for i in range(0, len(due), 500):  # in slices, as `firstcall serve` feeds its ring
                ring.feed_raw(due[i:i + 500])
                await asyncio.sleep(0)
            tick += 1

    feeder = asyncio.create_task(feeding())
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    print(json.dumps({"tokens": tokens, "filled_mb": round(filled_mb, 1)}), flush=True)
    if args.profile:  # written on SIGUSR1 (uvicorn ends the process on SIGTERM itself)
        import cProfile

        prof = cProfile.Profile(time.process_time)  # CPU, not a busy machine's waits
        prof.enable()

        def dump() -> None:
            prof.disable()
            prof.dump_stats(args.profile)

        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, dump)
    await serving
    feeder.cancel()
    await engine.dispose()


def main() -> None:
    """Parse the child's options and run it."""
    p = argparse.ArgumentParser(prog="python -m bench.desk_child")
    p.add_argument("--dsn", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--sessions", type=int, default=20_000)
    p.add_argument("--live", type=int, default=2_000)
    p.add_argument("--queued", type=int, default=40)
    p.add_argument("--consoles", type=int, default=50)
    p.add_argument("--no-feed", dest="feed", action="store_false")
    p.add_argument("--profile")
    asyncio.run(child(p.parse_args()))


if __name__ == "__main__":
    main()
