"""A school through two workers in one group plus the line correlator = `firstcall replay`."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from monitor.kafka.cli import build_worker
from monitor.kafka.correlator import CorrelatorWorker
from monitor.metrics import Metrics
from monitor.pipeline import replay_records
from tests.kafka_helpers import collect, create_topics, isolated_settings, values
from tests.kafka_school import iter_school, school_lines, session_of

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(150)]


LINE_DETECTED_TOLERANCE_MS = 2_000


def incident_view(r: dict[str, Any]) -> tuple[Any, ...]:
    """What must match exactly between replay and the workers for a session incident."""
    return (
        r["incident_id"],
        r["kind"],
        r["state"],
        r["started_at"],
        r["detected_at"],
        r["ended_at"],
        r.get("session_id"),
        r.get("classroom_id"),
    )


def line_view(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per line incident: when it started and ended, whom it covered, when it was detected.

    Updates in between depend on the order in which simultaneous findings reach the
    correlator (in replay: the timer wheel's order), so only the outcome is compared.
    """
    out: dict[str, dict[str, Any]] = {}
    for r in records:
        if r["kind"] != "line":
            continue
        view = out.setdefault(r["incident_id"], {"states": set()})
        view["states"].add(r["state"])
        view["started_at"] = r["started_at"]
        view["detected_at"] = r["detected_at"]
        if r["state"] == "closed":
            view["ended_at"] = r["ended_at"]
            view["sessions"] = sorted(r["sessions"])
    return out


def outreach_view(r: dict[str, Any]) -> tuple[Any, ...]:
    """What must match for one outreach decision."""
    return (r["incident_id"], r["case_id"], r["action"], r["reason"], r["decided_at"])


async def produce_school(bootstrap: str, topic: str) -> int:
    """The school keyed by session, then the tail pinned to each partition."""
    lines, tail = school_lines(4)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futs = [await producer.send(topic, line, key=session_of(line)) for line in lines]
        await asyncio.gather(*futs)
        futs = [
            await producer.send(topic, line, key=session_of(line), partition=p) for p, line in tail
        ]
        await asyncio.gather(*futs)
    finally:
        await producer.stop()
    return len(lines) + len(tail)


async def test_two_workers_and_correlator_give_the_same_records_as_replay(
    kafka_bootstrap: str,
) -> None:
    expected = replay_records(iter_school(4))
    want_records = [r for r in expected if r["record"] == "incident"]
    want_incidents = Counter(incident_view(r) for r in want_records if r["kind"] != "line")
    want_lines = line_view(want_records)
    want_outreach = Counter(outreach_view(r) for r in expected if r["record"] == "outreach")

    s = isolated_settings(kafka_bootstrap, clock="event")
    await create_topics(s)
    await produce_school(kafka_bootstrap, s.topics.telemetry)

    stop = asyncio.Event()
    workers = [build_worker(s, Metrics.create()) for _ in range(2)]
    correlator = CorrelatorWorker(s, Metrics.create())
    tasks = [asyncio.create_task(w.run(stop)) for w in workers]
    tasks.append(asyncio.create_task(correlator.run(stop)))
    try:
        outcomes = await collect(
            kafka_bootstrap, s.topics.outcomes, until=sum(want_outreach.values()), timeout_s=90
        )
        # Anything extra (a duplicate, a record replay did not make) shows up here.
        await asyncio.sleep(1.0)
        incidents = await collect(kafka_bootstrap, s.topics.incidents, idle_s=1.0)
        outcomes = await collect(kafka_bootstrap, s.topics.outcomes, idle_s=1.0)
    finally:
        stop.set()
        await asyncio.gather(*tasks)

    assert all(w.processed > 0 for w in workers), "both workers of the group took partitions"
    got_records = values(incidents)
    got_incidents = Counter(incident_view(r) for r in got_records if r["kind"] != "line")
    got_lines = line_view(got_records)
    got_outreach = Counter(outreach_view(r) for r in values(outcomes))
    assert got_incidents == want_incidents
    assert got_outreach == want_outreach
    assert want_lines, "the school has an edge outage: replay finds line incidents"
    assert got_lines.keys() == want_lines.keys()
    for iid, want in want_lines.items():
        got = got_lines[iid]
        assert abs(got.pop("detected_at") - want.pop("detected_at")) <= LINE_DETECTED_TOLERANCE_MS
        assert got == want, iid
