"""Broker unavailable: the worker retries, reports not-ready, and carries on when it is back."""

from __future__ import annotations

import asyncio

import pytest

from monitor.apps.kafka_jobs import build_worker
from monitor.platform.http_probe import ProbeServer
from monitor.platform.metrics import Metrics
from monitor.streaming.worker import TelemetryWorker
from tests.support.kafka_broker import TansuBroker
from tests.support.kafka_helpers import (
    T0,
    create_topics,
    encode,
    isolated_settings,
    join,
    produce,
    stats,
)

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]


def telemetry(session: str, start: int, n: int) -> list[tuple[bytes, bytes]]:
    """A join and n stats of one session, keyed by session."""
    events = [join(session, start)] + [stats(session, start + 2000 * i) for i in range(1, n + 1)]
    return [(session.encode(), encode(e)) for e in events]


def events_seen(metrics: Metrics) -> float:
    """Telemetry events the worker decoded so far."""
    return sum(
        metrics.registry.get_sample_value("firstcall_events_total", {"type": t}) or 0.0
        for t in ("join", "stats")
    )


async def http_status(port: int, path: str) -> int:
    """Status code of GET http://127.0.0.1:port/path."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    writer.close()
    return status


async def until(predicate: object, timeout_s: float, what: str) -> None:
    """Poll `predicate()` until true."""
    try:
        async with asyncio.timeout(timeout_s):
            while not predicate():  # type: ignore[operator]
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"timed out waiting until {what}") from None


async def test_worker_survives_a_broker_restart(kafka_broker: TansuBroker) -> None:
    kafka_broker.start()
    s = isolated_settings(kafka_broker.bootstrap, clock="event")
    await create_topics(s)
    metrics = Metrics.create()
    worker: TelemetryWorker = build_worker(s, metrics)
    probe = ProbeServer(metrics.registry, lambda: worker.ready)
    await probe.start()
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        first = telemetry("s1", T0, 20)
        await produce(s.bootstrap, s.topics.telemetry, first)
        await until(lambda: events_seen(metrics) >= len(first), 30, "the first batch is in")
        assert await http_status(probe.port, "/readyz") == 200

        kafka_broker.stop()
        await until(lambda: not worker.ready, 20, "readiness turns false")
        assert await http_status(probe.port, "/readyz") == 503
        assert await http_status(probe.port, "/healthz") == 200  # alive: no restart loop
        await asyncio.sleep(3)  # a few failed retries while the broker is away
        assert not task.done(), "the worker keeps running while the broker is away"

        kafka_broker.start()  # in-memory broker: back empty, like a fresh cluster
        await create_topics(s)
        second = telemetry("s2", T0 + 60_000, 20)
        await produce(s.bootstrap, s.topics.telemetry, second)
        await until(
            lambda: events_seen(metrics) >= len(first) + len(second), 60, "the second batch is in"
        )
        await until(lambda: worker.ready, 20, "readiness is back")
        assert await http_status(probe.port, "/readyz") == 200
        errors = metrics.registry.get_sample_value(
            "firstcall_broker_errors_total", {"op": "health"}
        )
        assert errors and errors >= 1
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await probe.stop()
    assert "firstcall_rebalances_total" in (await _metrics_text(probe, metrics))


async def _metrics_text(probe: ProbeServer, metrics: Metrics) -> str:
    del metrics
    return probe.respond("/metrics")[2].decode()
