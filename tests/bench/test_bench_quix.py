"""The Quix Streams peer in the Kafka benchmark detects the same lags as FirstCall."""

from __future__ import annotations

import random
import uuid
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import DefaultPartitioner

from bench import quix_bench
from bench.kafka_school import PARTITIONS, Keyed, fill
from monitor.streaming.topics import TopicSpec, ensure_topics

pytestmark = [pytest.mark.kafka]  # quixstreams is a dev dependency: this always runs

T0 = 1_795_000_000_000
KEEP = {"retention.ms": "3600000", "cleanup.policy": "delete"}
# (field, degraded value, clean near-miss) at 2 s; freeze and audio scale with interval_ms
BAD = [("freeze_ms", 0.30, 0.299), ("audio_stall_ms", 0.20, 0.199), ("fps", 6.9, 7.0),
       ("loss_pct", 10.5, 10.0), ("rtt_ms", 501.0, 500.0)]  # fmt: skip


def _event(kind: str, sid: str, ts: int, **extra: Any) -> dict[str, Any]:
    room = "room-" + sid[-2:]
    return {"v": 1, "type": kind, "ts": ts, "session_id": sid, "student_id": "st-" + sid,
            "classroom_id": room, **extra}  # fmt: skip


def _stats(sid: str, ts: int, iv: int, rng: random.Random, bad: bool) -> dict[str, Any]:
    v: dict[str, Any] = {"interval_ms": iv, "rtt_ms": 40.0, "jitter_ms": 2.0, "loss_pct": 0.1,
                         "recv_kbps": 800.0, "fps": 24.0, "freeze_ms": 0,
                         "audio_stall_ms": 0}  # fmt: skip
    field, worse, near = rng.choice(BAD)
    x = worse if bad else near
    if field in ("freeze_ms", "audio_stall_ms"):
        v[field] = round(x * iv)
    else:
        v[field] = x
    if not bad and field == "fps" and rng.random() < 0.5:
        v["fps"], v["recv_kbps"] = 3.0, 0.0  # no media received: low fps is not degraded
    return _event("stats", sid, ts, **v)


def telemetry(sessions: int = 400, steps: int = 45, seed: int = 11) -> list[Keyed]:
    """Joins, then 2 s rounds of stats (1 s intervals send two); a fifth of the sessions go
    through random degraded stretches, and a few leave and come back."""
    rng = random.Random(seed)
    part = DefaultPartitioner()
    everyone = list(range(PARTITIONS))
    ids = [f"q-{k:04d}" for k in range(sessions)]
    keys = [sid.encode() for sid in ids]
    parts = [part(k, everyone, everyone) for k in keys]
    ivs = [1000 if k % 9 == 0 else 2000 for k in range(sessions)]
    client = {"app_version": "5.1", "os": "win", "device": "pc"}
    out: list[Keyed] = []
    for k, sid in enumerate(ids):
        net = {"conn": "wifi", "isp": f"isp-{k % 3}", "region": "north", "edge": f"edge-{k % 8}"}
        value = _event("join", sid, T0 + k, client=client, network=net)
        out.append(Keyed(parts[k], keys[k], orjson.dumps(value)))
    p_bad = [0.45 if k % 5 == 0 else 0.01 for k in range(sessions)]
    for step in range(1, steps + 1):
        for k, sid in enumerate(ids):
            iv = ivs[k]
            for ts in range(T0 + k + 2000 * (step - 1) + iv, T0 + k + 2000 * step + 1, iv):
                if k % 37 == 0 and step in (20, 35) and ts % 2000 == k % 2000:
                    value = _event("leave", sid, ts)
                else:
                    bad = rng.random() < (p_bad[k] if 10 <= step < 40 else 0.01)
                    value = _stats(sid, ts, iv, rng, bad)
                out.append(Keyed(parts[k], keys[k], orjson.dumps(value)))
    return out


async def _read_detections(bootstrap: str, topic: str, expect: int) -> list[tuple[str, int]]:
    """(session_id, started_at) of the detections Quix produced to `topic`."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest")  # fmt: skip
    await consumer.start()
    got: list[tuple[str, int]] = []
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        idle = 0
        while idle < 10 and len(got) < expect:
            batch = await consumer.getmany(timeout_ms=300)
            recs = [r for rs in batch.values() for r in rs]
            idle = 0 if recs else idle + 1
            for r in recs:
                obj = orjson.loads(r.value)
                got.append((obj["session_id"], obj["started_at"]))
    finally:
        await consumer.stop()
    return sorted(got)


@pytest.mark.timeout(120)
async def test_quix_stateful_detections_equal_firstcall_lag_incidents(kafka_bootstrap: str) -> None:
    """Same (session_id, started_at) from the Quix job as FirstCall's engine on the same data."""
    tag = uuid.uuid4().hex[:6]
    topic, output = f"qx{tag}.telemetry", f"qx{tag}.lag"
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, PARTITIONS, KEEP),
                                          TopicSpec(output, PARTITIONS, KEEP)])  # fmt: skip
    messages = telemetry()
    n = await fill(kafka_bootstrap, topic, iter(messages))
    assert n == len(messages) > 20_000
    expected = quix_bench.firstcall_lag_opens(m.value for m in messages)
    assert len(expected) >= 30  # the data is worth comparing
    assert len({sid for sid, _ in expected}) < len(expected)  # some sessions lag twice

    result = await quix_bench.quix_rate(kafka_bootstrap, topic, n, "stateful", output, 90)

    assert result["records"] == n
    assert result["detections"] == len(expected)
    assert await _read_detections(kafka_bootstrap, output, len(expected)) == expected
