"""Over a real Kafka broker: an edge's burst of drops before any line verdict waits in the
backlog (a surge), and a family on another line polled after it is called at once."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import case_id_for
from outreach.contact.line_surge import LineSurge
from outreach.store.models import case_incidents
from tests.support.backlog_feed import Gated, committed, publish, watch, watched
from tests.support.casedb import case_engine  # noqa: F401
from tests.support.kafka_helpers import create_topics, isolated_settings
from tests.support.live_support import T0, decision, incident, until

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]

DROPS = 60
SURGE = 20  # sessions of one line within the window: a surge
ELSEWHERE = {"edge": "e7", "isp": "isp-z", "region": "east"}


async def cases_of(engine: AsyncEngine) -> dict[str, str]:
    """Each incident's case."""
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(case_incidents.c.incident_id, case_incidents.c.case_id))
        return {r.incident_id: r.case_id for r in rows}


async def test_a_surge_before_its_verdict_waits_and_a_family_elsewhere_is_called_first(
    kafka_bootstrap: str, case_engine: AsyncEngine, tmp_path: Path,  # noqa: F811
) -> None:
    s = isolated_settings(kafka_bootstrap, clock="event")
    await create_topics(s)
    h, log = await watched(case_engine, tmp_path)
    feed = watch(h, Gated(s, h.runner, group="o-surge", backlog_chunk=4,
                          surge=LineSurge(sessions=SURGE, window_ms=5_000)))  # fmt: skip
    stop = asyncio.Event()
    task = asyncio.create_task(feed.run(stop))
    surged = h.runner.metrics.registry
    try:
        # Edge e1 fails: 60 families drop within 0.6 s; no line record has come (yet).
        drops = [incident(1, student=f"stu-c{i}", start=T0 + 1_000 + 10 * i)
                 for i in range(DROPS)]  # fmt: skip
        await publish(s, drops)
        # Polled before the line had 20 of them, a drop is taken in as ordinary; after, it waits.
        await until(lambda: len(feed.backlog) >= DROPS - SURGE + 1, 30)
        assert (surged.get_sample_value("firstcall_outreach_put_aside_total",
                                        {"reason": "surge"}) == len(feed.backlog))  # fmt: skip
        waiting = len(feed.backlog)

        # A family on another edge and ISP, polled after the burst, is called at once.
        ordinary = replace(incident(1, room="room-9", start=T0 + 2_000), line=dict(ELSEWHERE))
        await publish(s, [ordinary, decision(ordinary, "call")])
        await until(lambda: any(student == "stu-1" for student, _ in log), 30)
        assert log == [("stu-1", waiting)]  # called with the surge still waiting
        assert not await committed(s, "o-surge", DROPS + 2)  # offsets held back to the surge

        # Taken in behind it: every family's case, once; nothing held back any longer.
        feed.chunks_left = 1_000
        every = {d.incident_id: case_id_for(d.incident_id) for d in [*drops, ordinary]}

        async def all_in() -> bool:
            return not feed.backlog and len(await cases_of(case_engine)) == len(every)

        await until(all_in, 60)
        assert await cases_of(case_engine) == every
        await until(lambda: committed(s, "o-surge", DROPS + 2), 30)
    finally:
        stop.set()
        await task
        await h.runner.aclose()
