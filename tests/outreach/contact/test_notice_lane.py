"""Covered families' notices take turns in a lane; ordinary families' contacts never wait."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident, Outreach, case_id_for
from outreach.contact.chain import Waits
from outreach.contact.notice_lane import NoticeLane
from outreach.decide.decision import COVERED_BY_LINE_INCIDENT
from tests.support.casedb import case_engine  # noqa: F401
from tests.support.channel_fakes import GatedChannel
from tests.support.line_fakes import line_incident
from tests.support.live_support import T0, decision, harness, incident, make_runner, until

COVERED = 20
SLOW = Waits(chat_s=30.0, call_s=30.0, sms_s=30.0)  # no family answers within the test


def outage(n: int = COVERED) -> list[Incident | Outreach]:
    """An edge's line incident over `n` families' sessions, their drops and their notices."""
    drops = [incident(i, student=f"stu-c{i}", start=T0 + 1_000) for i in range(n)]
    line = line_incident("open", [d.session_id or "" for d in drops], start=T0)
    return [line, *drops, *(decision(d, "chat", COVERED_BY_LINE_INCIDENT) for d in drops)]


async def test_at_most_the_lane_s_width_of_notices_send_at_once_and_all_go_out(
    case_engine: AsyncEngine,  # noqa: F811
    tmp_path: Path,
) -> None:
    base = await harness(case_engine, tmp_path, SLOW)
    chat = GatedChannel()
    h = make_runner(case_engine, base.cases, base.directory, SLOW, channels={"chat": chat})
    assert h.runner.config.covered_notice_concurrency == 4
    try:
        for record in outage():
            await h.runner.handle(record)
        # Four notices are at the provider; the other sixteen wait for their turn.
        await until(lambda: chat.sending == 4
                    and h.counted("firstcall_outreach_covered_notices_waiting") == COVERED - 4)
        # An ordinary family's problem meanwhile: its call goes out with the lane full.
        ordinary = incident(1, start=T0 + 2_000)  # stu-1, whose family takes calls
        await h.runner.handle(ordinary)
        await h.runner.handle(decision(ordinary, "call"))
        await until(lambda: len(h.fakes["call"].sent) == 1)
        assert chat.sending == 4 and chat.done == []
        chat.open()
        # Every notice goes out although no family answers (the turn is not held while the
        # chain waits for a reply: 30 s here).
        await until(lambda: len(chat.done) == COVERED)
        assert chat.peak == 4
        assert sorted(m.student_id for m in chat.done) == sorted(f"stu-c{i}"
                                                                  for i in range(COVERED))
        assert {m.fault for m in chat.done} == {"line"}
        assert h.counted("firstcall_outreach_covered_notices_waiting") == 0
        assert h.fakes["call"].sent[0].student_id == "stu-1"
    finally:
        await h.runner.aclose()


async def test_a_notice_waiting_for_its_turn_stops_at_once_when_its_problem_is_over(
    case_engine: AsyncEngine,  # noqa: F811
    tmp_path: Path,
) -> None:
    base = await harness(case_engine, tmp_path, SLOW)
    chat = GatedChannel()
    h = make_runner(case_engine, base.cases, base.directory, SLOW, channels={"chat": chat})
    h.runner.chains.close_wait_s = 600.0  # a stop that waited for the chain would hang here
    records = outage()
    stopping: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    try:
        for record in records:
            await h.runner.handle(record)
        await until(lambda: chat.sending == 4)  # the last chains may not have run yet
        waiting = [i for i in range(COVERED)
                   if f"stu-c{i}" not in {m.student_id for m in chat.sent}]
        last = records[1 + waiting[-1]]
        assert isinstance(last, Incident) and len(waiting) == COVERED - 4
        case_id = case_id_for(last.incident_id)
        # Its chain is still in the lane's queue: stopped at once, not after close_wait_s.
        stopping = asyncio.create_task(h.runner.chains.stop(case_id))
        await until(stopping.done)
        assert case_id not in h.runner.tasks
        assert h.counted("firstcall_outreach_covered_notices_waiting") == COVERED - 5
        chat.open()
        await until(lambda: len(chat.done) == COVERED - 1)
        assert last.student_id not in {m.student_id for m in chat.sent}
        kinds = [e.kind for e in await h.cases.timeline(case_id)]
        assert "sending" not in kinds
    finally:
        stopping.cancel()
        await h.runner.aclose()


def lane_of(limit: int, max_hold_s: float) -> NoticeLane:
    """A lane with its own gauge (a registry of its own)."""
    waiting = Gauge("waiting", "notices waiting", registry=CollectorRegistry())
    return NoticeLane(limit, waiting, max_hold_s)


async def test_a_held_lane_gives_no_turn_until_resumed() -> None:
    lane = lane_of(2, max_hold_s=30.0)
    lane.hold()
    went: list[str] = []

    async def notice(case_id: str) -> None:
        async with lane.turn(case_id):
            went.append(case_id)

    tasks = [asyncio.create_task(notice(f"case-{i}")) for i in range(3)]
    await asyncio.sleep(0.05)
    assert went == [] and all(lane.queued(f"case-{i}") for i in range(3))
    lane.resume()
    await asyncio.gather(*tasks)
    assert sorted(went) == ["case-0", "case-1", "case-2"]


async def test_a_notice_held_longer_than_max_hold_goes_anyway() -> None:
    lane = lane_of(1, max_hold_s=0.05)
    lane.hold()  # and never resumed
    async with asyncio.timeout(2):
        async with lane.turn("case-1"):
            assert lane.sending == 1
    assert lane.held


async def test_a_notice_waiting_for_a_turn_when_the_lane_is_held_waits_again() -> None:
    lane = lane_of(1, max_hold_s=30.0)
    went: list[str] = []
    first = asyncio.Event()

    async def notice(case_id: str, body: asyncio.Event | None) -> None:
        async with lane.turn(case_id):
            went.append(case_id)
            if body is not None:
                await body.wait()

    a = asyncio.create_task(notice("case-a", first))
    await asyncio.sleep(0.01)
    b = asyncio.create_task(notice("case-b", None))  # waits for a's turn to end
    await asyncio.sleep(0.01)
    lane.hold()  # the service fell behind meanwhile
    first.set()
    await asyncio.sleep(0.05)
    assert went == ["case-a"]  # b got the turn, found the lane held and gave it back
    lane.resume()
    await asyncio.gather(a, b)
    assert went == ["case-a", "case-b"]
