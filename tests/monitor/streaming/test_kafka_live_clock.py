"""Live mode: silence is noticed by the wall clock (with lateness), not by the next event."""

from __future__ import annotations

import asyncio
import time

import pytest

from detectors.config import DetectionConfig
from monitor.apps.kafka_jobs import build_worker
from monitor.platform.metrics import Metrics
from tests.support.kafka_helpers import (
    collect,
    create_topics,
    encode,
    isolated_settings,
    join,
    produce,
    stats,
    values,
)

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(60)]

SILENCE_MS = 3_000
LATENESS_MS = 500


async def test_a_session_that_goes_quiet_is_a_disconnect_without_any_later_event(
    kafka_bootstrap: str,
) -> None:
    s = isolated_settings(kafka_bootstrap, clock="wall")
    await create_topics(s)
    worker = build_worker(
        s, Metrics.create(), lateness_ms=LATENESS_MS,
        detection=DetectionConfig(silence_ms=SILENCE_MS),
    )  # fmt: skip
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        async with asyncio.timeout(30):
            await worker.assigned_once.wait()
        now = int(time.time() * 1000)
        await produce(
            kafka_bootstrap,
            s.topics.telemetry,
            [(b"s1", encode(join("s1", now - 2000))), (b"s1", encode(stats("s1", now - 1000))),
             (b"s1", encode(stats("s1", now)))],
        )  # fmt: skip
        last = now
        records = await collect(kafka_bootstrap, s.topics.incidents, until=1, timeout_s=20)
        seen_at = time.time() * 1000
    finally:
        stop.set()
        await task
    [incident] = values(records)
    assert (incident["kind"], incident["state"]) == ("disconnect", "open")
    assert incident["started_at"] == last
    assert incident["detected_at"] == last + SILENCE_MS
    assert incident["evidence"]["cause"] == "silence"
    # Noticed by the clock: no later than silence + lateness + a few polls after the last event.
    assert seen_at - last < SILENCE_MS + LATENESS_MS + 3000
