"""One client's clock must not set everyone's clock (issue 15, point 2).

A heartbeat an hour or a year ahead, then the normal stream: replay, two workers
with `--clock event` and the line correlator give the records of the clean
stream, and the heartbeat is dead-lettered as `ts_out_of_range` and counted.
A forged finding and a forged watermark ahead of time do not move the correlator.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from monitor.apps.kafka_jobs import build_worker
from monitor.cli import main
from monitor.platform.kafka_settings import KafkaSettings
from monitor.platform.metrics import Metrics
from monitor.streaming.assembly import replay_records
from monitor.streaming.correlator import CorrelatorWorker
from monitor.streaming.dlq import REASON_HEADER, header
from monitor.streaming.wire import FINDING, WATERMARK, Watermark, encode_watermark, time_headers
from tests.monitor.streaming.test_kafka_pipeline import assert_same, produce
from tests.support.kafka_helpers import T0, collect, create_topics, isolated_settings, values
from tests.support.kafka_school import iter_school, school_lines, session_of

HOUR = 3_600_000
YEAR = 365 * 24 * HOUR


def heartbeat_ahead(line: bytes, ahead_ms: int) -> bytes:
    """A heartbeat of the session of `line`, `ahead_ms` ahead of that line's time."""
    ev = orjson.loads(line)
    return orjson.dumps({"v": 1, "type": "heartbeat", "ts": ev["ts"] + ahead_ms,
                         "session_id": ev["session_id"], "student_id": ev["student_id"],
                         "classroom_id": ev["classroom_id"]})


# -- replay ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def school_day(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """The simulator's default school (the day of the issue: 27 disconnects, 5 line incidents)."""
    from monitor.simulate import SimConfig, simulate

    return list(simulate(SimConfig()).lines())


def replay_summary(tmp: Path, name: str, lines: list[bytes]) -> dict[str, Any]:
    src = tmp / f"{name}.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    summary = tmp / f"{name}.summary.json"
    dead = tmp / f"{name}.dlq.jsonl"
    args = ["replay", str(src), "-o", str(tmp / f"{name}.out.jsonl"), "--quiet",
            "--summary-json", str(summary), "--dead-letter", str(dead)]
    assert main(args) == 0
    out: dict[str, Any] = orjson.loads(summary.read_bytes())
    out["dead"] = [orjson.loads(x) for x in dead.read_bytes().splitlines()]
    return out


@pytest.mark.parametrize("ahead_ms", [HOUR, YEAR], ids=["hour", "year"])
@pytest.mark.parametrize("where", ["first", "middle"])
def test_replay_a_heartbeat_ahead_changes_nothing_and_is_dead_lettered(
    tmp_path: Path, school_day: list[bytes], ahead_ms: int, where: str
) -> None:
    clean = replay_summary(tmp_path, "clean", school_day)
    at = 0 if where == "first" else len(school_day) // 2
    rogue = heartbeat_ahead(school_day[at], ahead_ms)
    got = replay_summary(tmp_path, "rogue", [*school_day[:at], rogue, *school_day[at:]])
    assert clean["incidents"]["disconnect"] == 27 and clean["incidents"]["line"] == 5
    for key in ("incidents", "outreach", "suppressed", "events"):
        assert got[key] == clean[key], key
    assert got["bad_records"] == {"ts_out_of_range": 1}
    assert [(d["reason"], d["raw"]) for d in got["dead"]] == [("ts_out_of_range", rogue.decode())]


# -- workers with --clock event and the correlator, on the Kafka test broker -------------


Forged = list[tuple[bytes, bytes, list[tuple[str, bytes]]]]


async def run_school(
    bootstrap: str, s: KafkaSettings, lines: list[bytes], tail: list[tuple[int, bytes]],
    expected_outcomes: int, before: Forged | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Any], list[Metrics]]:
    """Two workers and a correlator over the school; forged `before` findings go first."""
    await create_topics(s)
    if before:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            for key, value, headers in before:
                await producer.send_and_wait(s.topics.findings, value, key=key, headers=headers)
        finally:
            await producer.stop()
    await produce(bootstrap, s.topics.telemetry, lines, tail)
    stop = asyncio.Event()
    metrics = [Metrics.create() for _ in range(3)]
    workers = [build_worker(s, metrics[i]) for i in range(2)]
    correlator = CorrelatorWorker(s, metrics[2])
    tasks = [asyncio.create_task(w.run(stop)) for w in workers]
    tasks.append(asyncio.create_task(correlator.run(stop)))
    try:
        await collect(bootstrap, s.topics.outcomes, until=expected_outcomes, timeout_s=90)
        await asyncio.sleep(1.0)
        incidents = await collect(bootstrap, s.topics.incidents, idle_s=1.0)
        outcomes = await collect(bootstrap, s.topics.outcomes, idle_s=1.0)
        dlq = await collect(bootstrap, s.topics.dlq, idle_s=1.0)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    return values(incidents), values(outcomes), dlq, metrics


def out_of_range_count(metrics: list[Metrics]) -> float:
    return sum(m.bad_records.labels("ts_out_of_range")._value.get() for m in metrics)


@pytest.mark.kafka
@pytest.mark.timeout(150)
@pytest.mark.parametrize("ahead_ms", [HOUR, YEAR], ids=["hour", "year"])
async def test_workers_with_event_clock_dead_letter_a_heartbeat_ahead(
    kafka_bootstrap: str, ahead_ms: int
) -> None:
    lines, tail = school_lines(4)
    expected = replay_records(iter_school(4))
    n_outcomes = sum(1 for r in expected if r["record"] == "outreach")
    rogue = heartbeat_ahead(lines[0], ahead_ms)
    s = isolated_settings(kafka_bootstrap, clock="event")
    incidents, outcomes, dlq, metrics = await run_school(
        kafka_bootstrap, s, [rogue, *lines], tail, n_outcomes)
    assert_same(expected, incidents, outcomes)
    assert [(r.value, header(r.headers, REASON_HEADER)) for r in dlq] == [
        (rogue, b"ts_out_of_range")]
    assert bytes(dlq[0].key) == session_of(rogue)
    assert out_of_range_count(metrics) == 1


@pytest.mark.kafka
@pytest.mark.timeout(150)
async def test_correlator_dead_letters_a_forged_finding_and_watermark_ahead(
    kafka_bootstrap: str,
) -> None:
    from detectors.findings import Finding

    lines, tail = school_lines(4)
    expected = replay_records(iter_school(4))
    n_outcomes = sum(1 for r in expected if r["record"] == "outreach")
    # A finding on the outage's edge, stamped early (so it is applied) but a year ahead,
    # and a watermark of telemetry partition 0 a year ahead of its record's time.
    forged = Finding("join", "forged", "room-0", "e1", "isp-a", "north", T0 + YEAR)
    wm = Watermark(0, 4, T0 + YEAR)
    before = [
        (b"edge:e1", forged.to_bytes(), time_headers(FINDING, T0 + 1000)),
        (b"edge:e1", encode_watermark(wm), time_headers(WATERMARK, T0 + YEAR)),
    ]
    s = isolated_settings(kafka_bootstrap, clock="event")
    incidents, outcomes, dlq, metrics = await run_school(
        kafka_bootstrap, s, lines, tail, n_outcomes, before)
    assert_same(expected, incidents, outcomes)
    assert sorted(r.value for r in dlq) == sorted(v for _, v, _ in before)
    assert {header(r.headers, REASON_HEADER) for r in dlq} == {b"ts_out_of_range"}
    assert out_of_range_count(metrics) == 2
