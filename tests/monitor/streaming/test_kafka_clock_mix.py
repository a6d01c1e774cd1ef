"""A correlator refuses workers on another clock: exit 2, reason clock_mismatch (issue 19.4)."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from tests.support.kafka_helpers import create_topics, encode, isolated_settings, join, produce
from tests.support.kafka_procs import Proc

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(90)]


async def test_a_correlator_on_the_wall_clock_refuses_event_clock_workers(
    kafka_bootstrap: str,
) -> None:
    s = isolated_settings(kafka_bootstrap, clock="event")
    await create_topics(s)
    worker = Proc("worker", s).start()
    correlator = Proc("correlator", dataclasses.replace(s, clock="wall")).start()
    try:
        await produce(kafka_bootstrap, s.topics.telemetry,
                      [(b"s1", encode(join("s1", 1_795_000_000_000)))])
        async with asyncio.timeout(60):
            while correlator.proc is not None and correlator.proc.poll() is None:
                await asyncio.sleep(0.3)
    finally:
        worker.stop()
        correlator.stop()
    assert correlator.proc is not None and correlator.proc.returncode == 2
    assert '"clock_mismatch"' in correlator.output()
