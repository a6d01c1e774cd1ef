"""Over a real Kafka broker: an outage's covered families wait in the backlog, a family
polled after them is contacted at once, and a stop half-way loses and repeats nothing."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident, Outreach, case_id_for
from monitor.platform.kafka_settings import KafkaSettings
from outreach.decide.decision import COVERED_BY_LINE_INCIDENT
from outreach.store.models import case_events
from tests.support.backlog_feed import Gated, committed, publish, watch, watched
from tests.support.casedb import case_engine  # noqa: F401
from tests.support.kafka_helpers import create_topics, isolated_settings
from tests.support.line_fakes import line_incident
from tests.support.live_support import T0, Harness, decision, incident, until

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]

COVERED = 60


def outage() -> list[Incident | Outreach]:
    """An edge's line incident, its families' drops and their notices."""
    drops = [incident(i, student=f"stu-c{i}", start=T0 + 1_000) for i in range(COVERED)]
    line = line_incident("open", [d.session_id or "" for d in drops], start=T0)
    return [line, *drops, *(decision(d, "chat", COVERED_BY_LINE_INCIDENT) for d in drops)]


async def sends_per_case(engine: AsyncEngine) -> dict[str, int]:
    """How many sends each case's timeline announced."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(case_events.c.case_id, sa.func.count())
            .where(case_events.c.kind == "sending").group_by(case_events.c.case_id))
        return {row[0]: row[1] for row in rows}


@dataclass
class Running:
    """A gated feed running over the broker, and how to stop it."""

    feed: Gated
    stop: asyncio.Event
    task: asyncio.Task[None]

    async def halt(self) -> None:
        """Stop it as a shutdown does (the backlog is left, not committed)."""
        self.stop.set()
        await self.task


def run(h: Harness, s: KafkaSettings, group: str, *, chunks: int = 0) -> Running:
    """Start a gated feed of `group` (`chunks`: backlog chunks it may take in)."""
    feed = watch(h, Gated(s, h.runner, group=group, backlog_chunk=4))
    feed.chunks_left = chunks
    stop = asyncio.Event()
    return Running(feed, stop, asyncio.create_task(feed.run(stop)))


async def outage_in_backlog(
    bootstrap: str, engine: AsyncEngine, tmp_path: Path, group: str
) -> tuple[KafkaSettings, Harness, list[tuple[str, int]], Running]:
    """Topics, a watched runner, a feed of `group`, and the outage published and polled
    (all of it waiting in the backlog)."""
    s = isolated_settings(bootstrap, clock="event")
    await create_topics(s)
    h, log = await watched(engine, tmp_path)
    running = run(h, s, group)
    try:
        await publish(s, outage())
        await until(lambda: len(running.feed.backlog) == 2 * COVERED + 1, 30)
    except BaseException:
        await running.halt()
        await h.runner.aclose()
        raise
    return s, h, log, running


async def test_a_family_polled_after_an_outage_is_called_while_its_families_wait(
    kafka_bootstrap: str, case_engine: AsyncEngine, tmp_path: Path,  # noqa: F811
) -> None:
    s, h, log, running = await outage_in_backlog(kafka_bootstrap, case_engine, tmp_path,
                                                 "o-backlog")  # fmt: skip
    feed = running.feed
    try:
        ordinary = incident(1, room="room-9", start=T0 + 2_000)  # stu-1, whose family takes calls
        await publish(s, [ordinary, decision(ordinary, "call")])
        await until(lambda: any(student == "stu-1" for student, _ in log), 30)
        assert log == [("stu-1", 2 * COVERED + 1)]  # called with the whole outage waiting
        assert not await committed(s, "o-backlog", 2 * COVERED + 3)  # held back to it
        feed.chunks_left = 1_000  # the backlog taken in
        await until(lambda: len(log) == COVERED + 1 and not feed.backlog, 60)
        assert sorted(student for student, _ in log) == sorted(
            ["stu-1", *(f"stu-c{i}" for i in range(COVERED))])  # everybody, once
        await until(lambda: committed(s, "o-backlog", 2 * COVERED + 3), 30)
    finally:
        await running.halt()
        await h.runner.aclose()


async def test_stopped_half_way_the_next_run_takes_the_rest_once(
    kafka_bootstrap: str, case_engine: AsyncEngine, tmp_path: Path,  # noqa: F811
) -> None:
    s, h, log, first = await outage_in_backlog(kafka_bootstrap, case_engine, tmp_path, "o-stop")
    second = None
    try:
        first.feed.chunks_left = 3  # 12 records taken in, then it stops
        await until(lambda: len(first.feed.backlog) == 2 * COVERED + 1 - 12, 30)
        await first.halt()
        assert len(first.feed.backlog) > 0
        assert not await committed(s, "o-stop", 2 * COVERED + 1)  # held back to what waited
        await h.runner.drain()

        second = run(h, s, "o-stop", chunks=1_000)
        await until(lambda: committed(s, "o-stop", 2 * COVERED + 1), 60)
        await until(lambda: len(log) == COVERED, 30)
        sends = await sends_per_case(case_engine)
        drops = [r for r in outage() if isinstance(r, Incident) and r.kind != "line"]
        assert sends == {case_id_for(d.incident_id): 1 for d in drops}  # told once, none twice
        assert sorted(student for student, _ in log) == sorted(
            f"stu-c{i}" for i in range(COVERED))
    finally:
        await first.halt()
        if second is not None:
            await second.halt()
        await h.runner.aclose()
