"""The Kafka benchmark's live runs: telemetry sent at a set rate to a worker on the wall
clock, and the time from each deciding event's arrival to its incident record."""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import time
import uuid
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.kafka_broker import free_port
from bench.kafka_probe import (
    CpuSample,
    histogram_quantiles,
    read_metrics,
    rss_mb,
    sample,
    wait_ready,
    worker_cmd,
    worker_env,
)
from bench.kafka_report import WINDOW_S
from bench.kafka_school import PARTITIONS, School, fill
from bench.procs import stop_process
from monitor.platform.kafka_settings import KafkaSettings
from monitor.streaming.topics import ensure_topics, topic_specs


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
    cmd = worker_cmd(bootstrap, prefix, f"lat-{uuid.uuid4().hex[:6]}", "wall", probe)
    worker = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=worker_env(env))
    school = School(sessions=max(2000, rate // 5))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=0,
                                max_batch_size=512 * 1024)  # fmt: skip
    await producer.start()
    sent = 0
    try:
        now_ms = int(time.time() * 1000)
        await fill(bootstrap, s.topics.telemetry,
                   (school.join(k, now_ms) for k in range(len(school.ids))))  # fmt: skip
        await wait_ready(probe, 60)
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
                start = sample(time.perf_counter(), sent, worker.pid, broker_pid)
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
        end = sample(time.perf_counter() - 1.0, sent, worker.pid, broker_pid)
        await asyncio.sleep(1.0)
        metrics_text = await read_metrics(probe)
    finally:
        await producer.stop()
        stop_process(worker)
    timed = await incident_latencies(bootstrap, s.topics.incidents, counted_from)
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
        "worker_histogram_arrival_to_ack": histogram_quantiles(metrics_text, "arrival"),
        "broker_rss_mb": rss_mb(broker_pid) if broker_pid else None,
    }


def p99_by_window(timed: list[tuple[int, float]], start_ms: int, window_s: float) -> list[float]:
    """p99 latency of each `window_s` stretch of the counted time (does it drift?)."""
    windows: dict[int, list[float]] = {}
    for at, ms in timed:
        windows.setdefault(int((at - start_ms) // (window_s * 1000)), []).append(ms)
    return [round(statistics.quantiles(v, n=100)[98] if len(v) >= 2 else v[0], 1)
            for _, v in sorted(windows.items())]  # fmt: skip


async def incident_latencies(
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

