"""Malformed telemetry goes to the DLQ unchanged, with its reason; the worker keeps going."""

from __future__ import annotations

import asyncio

import pytest

from monitor.platform.metrics import Metrics
from monitor.streaming.dlq import REASON_HEADER, SOURCE_HEADER, header
from monitor.streaming.protocols import NullProcessor
from monitor.streaming.worker import TelemetryWorker
from tests.support.kafka_helpers import (
    T0,
    collect,
    create_topics,
    encode,
    isolated_settings,
    join,
    produce,
)
from tests.support.kafka_helpers import stats as stats_event

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(90)]

BAD = {
    b"{not json": "not_json",
    b"[1, 2]": "not_object",
    b'{"v": 2, "type": "stats", "ts": 1795000000000}': "unknown_version",
    b'{"v": 1, "type": "teleport", "ts": 1795000000000, "session_id": "s",'
    b' "student_id": "x", "classroom_id": "c"}': "unknown_type",
    b'{"v": 1, "type": "heartbeat", "ts": 1795000000000, "student_id": "x",'
    b' "classroom_id": "c"}': "missing_id",
}


@pytest.mark.parametrize("record_path", ["lean", "stock"])
async def test_malformed_records_land_in_dlq_with_reason_and_original_bytes(
    kafka_bootstrap: str, record_path: str
) -> None:
    s = isolated_settings(kafka_bootstrap, clock="event", record_path=record_path)
    await create_topics(s)
    good = [
        encode(join("s1", T0)),
        *(encode(stats_event("s1", T0 + 2000 * i)) for i in range(1, 6)),
    ]
    stream = [good[0], *BAD.keys(), *good[1:]]
    await produce(kafka_bootstrap, s.topics.telemetry, [(b"s1", v) for v in stream])

    metrics = Metrics.create()
    procs: dict[int, NullProcessor] = {}

    def factory(p: int) -> NullProcessor:
        procs[p] = NullProcessor(p)
        return procs[p]

    worker = TelemetryWorker(s, factory, metrics)
    assert worker.lean is (record_path == "lean")
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        dead = await collect(kafka_bootstrap, s.topics.dlq, until=len(BAD), timeout_s=40)
        async with asyncio.timeout(20):
            while sum(p.events for p in procs.values()) < len(good):
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task

    assert sorted(r.value for r in dead) == sorted(BAD)
    assert {r.key for r in dead} == {b"s1"}  # as received: the key too
    for r in dead:
        assert header(r.headers, REASON_HEADER) == BAD[r.value].encode()
        assert header(r.headers, SOURCE_HEADER).startswith(s.topics.telemetry.encode())
    for reason in BAD.values():
        assert (
            metrics.registry.get_sample_value("firstcall_bad_records_total", {"reason": reason})
            == 1
        )
    assert metrics.registry.get_sample_value("firstcall_events_total", {"type": "stats"}) == 5
    assert sum(p.events for p in procs.values()) == len(good)
    sample = metrics.registry.get_sample_value
    assert sample("firstcall_rebalances_total", {"event": "assigned"}) >= 1
    assert sample("firstcall_batch_size_count") >= 1
    lags = [
        sample("firstcall_consumer_lag", {"topic": s.topics.telemetry, "partition": str(p)})
        for p in range(4)
    ]
    assert [lag for lag in lags if lag is not None] == [0.0], "caught up on the one busy partition"
