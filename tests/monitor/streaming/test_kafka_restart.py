"""SIGKILL a worker mid-stream and restart it: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from bench.kafka_probe import committed_total
from monitor.streaming.assembly import replay_records
from tests.support.kafka_helpers import (
    collect,
    create_topics,
    isolated_settings,
    values,
)
from tests.support.kafka_procs import Proc
from tests.support.kafka_school import iter_school, school_lines, session_of

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]


async def wait_committed(s: Any, at_least: int, timeout_s: float = 60) -> None:
    """Until the worker group has committed `at_least` records in total."""
    async with asyncio.timeout(timeout_s):
        while await committed_total(s.bootstrap, s.worker_group, s.topics.telemetry, 4) < at_least:
            await asyncio.sleep(0.2)


async def test_sigkill_a_worker_mid_stream_and_restart_it(kafka_bootstrap: str) -> None:
    expected = replay_records(iter_school(4))
    want_incidents = {
        (r["incident_id"], r["state"])
        for r in expected
        if r["record"] == "incident" and r["kind"] != "line"
    }
    want_outreach = {r["incident_id"]: r["action"] for r in expected if r["record"] == "outreach"}

    s = isolated_settings(kafka_bootstrap, clock="event")
    await create_topics(s)
    lines, tail = school_lines(4)
    cut = len(lines) * 42 // 100  # mid-way through the edge outage at minute 4

    correlator = Proc("correlator", s).start()
    workers = [Proc("worker", s).start(), Proc("worker", s).start()]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=5)
    await producer.start()
    restarted: Proc | None = None
    try:

        async def send(chunk: list[bytes]) -> None:
            futs = [await producer.send(s.topics.telemetry, v, key=session_of(v)) for v in chunk]
            await asyncio.gather(*futs)

        await send(lines[:cut])
        await wait_committed(s, cut)  # both workers joined and worked through the first part
        for i in range(cut, cut + 1500, 150):  # a live stream; the kill lands mid-batch
            await send(lines[i : i + 150])
            await asyncio.sleep(0.02)
            if i == cut + 600:
                workers[0].kill()
        restarted = Proc("worker", s).start()
        await send(lines[cut + 1500 :])
        futs = [
            await producer.send(s.topics.telemetry, v, key=session_of(v), partition=p)
            for p, v in tail
        ]
        await asyncio.gather(*futs)
        outcomes = await collect(
            kafka_bootstrap, s.topics.outcomes, until=len(want_outreach), timeout_s=90
        )
        await asyncio.sleep(2.0)  # room for a late duplicate to show up
        outcomes = values(await collect(kafka_bootstrap, s.topics.outcomes, idle_s=1.0))
        incidents = values(await collect(kafka_bootstrap, s.topics.incidents, idle_s=1.0))
    finally:
        await producer.stop()
        for p in (*workers, correlator, *([restarted] if restarted else [])):
            p.stop()
            print(f"---- {p.args[3]} log: {p.log.name}")

    logs = "".join(p.output() for p in (*workers, restarted) if p is not None)
    assert '"rebuild_from": 0' in logs and '"committed": null' in logs
    assert any(
        '"partition_restored"' in line
        and '"committed": null' not in line
        and '"acknowledged_ids": 0' not in line
        for line in logs.splitlines()
    ), "a partition moved with open incidents and was restored from the state topic"
    session_incidents = [r for r in incidents if r["kind"] != "line"]
    got = Counter((r["incident_id"], r["state"]) for r in session_incidents)
    assert not want_incidents - set(got), "incidents lost"
    assert not set(got) - want_incidents, "incidents that replay does not have"
    duplicates = {k: n for k, n in got.items() if n > 1}
    assert not duplicates, f"incident records sent twice: {duplicates}"
    decisions = Counter(r["incident_id"] for r in outcomes)
    assert {k: n for k, n in decisions.items() if n > 1} == {}, "a second outreach decision"
    assert {r["incident_id"]: r["action"] for r in outcomes} == want_outreach
