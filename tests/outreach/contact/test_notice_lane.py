"""Covered families' notices go in bulk sends through a lane; ordinary families' contacts never
wait."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident, Outreach, case_id_for
from outreach.channels.base import SendResult
from outreach.contact.chain import Waits
from outreach.contact.notice_lane import NoticeLane, Sent
from outreach.decide.decision import COVERED_BY_LINE_INCIDENT
from tests.support.casedb import case_engine  # noqa: F401
from tests.support.channel_fakes import GatedChannel
from tests.support.line_fakes import line_incident
from tests.support.live_support import (
    T0,
    Harness,
    decision,
    harness,
    incident,
    make_runner,
    until,
)

COVERED = 20
SLOW = Waits(chat_s=30.0, call_s=30.0, sms_s=30.0)  # no family answers within the test


def outage(n: int = COVERED) -> list[Incident | Outreach]:
    """An edge's line incident over `n` families' sessions, their drops and their notices."""
    drops = [incident(i, student=f"stu-c{i}", start=T0 + 1_000) for i in range(n)]
    line = line_incident("open", [d.session_id or "" for d in drops], start=T0)
    return [line, *drops, *(decision(d, "chat", COVERED_BY_LINE_INCIDENT) for d in drops)]


def waiting(h: Harness) -> float:
    """Notices waiting for a bulk send (the gauge)."""
    return h.counted("firstcall_outreach_covered_notices_waiting")


async def test_notices_go_in_one_bulk_send_at_a_time_of_at_most_its_width_and_all_go_out(
    case_engine: AsyncEngine,  # noqa: F811
    tmp_path: Path,
) -> None:
    base = await harness(case_engine, tmp_path, SLOW)
    chat = GatedChannel()
    h = make_runner(case_engine, base.cases, base.directory, SLOW, channels={"chat": chat})
    assert h.runner.config.covered_notice_concurrency == 200
    lane = h.runner.chain.lane
    assert lane is not None
    lane.limit = 8
    try:
        for record in outage():
            await h.runner.handle(record)
        # One bulk send is at the provider (at most 8 notices); the others wait for the next.
        await until(lambda: chat.sending > 0 and chat.sending + waiting(h) == COVERED)
        first = chat.sending
        assert first <= 8 and lane.sending == first
        # An ordinary family's problem meanwhile: its call goes out with the lane busy.
        ordinary = incident(1, start=T0 + 2_000)  # stu-1, whose family takes calls
        await h.runner.handle(ordinary)
        await h.runner.handle(decision(ordinary, "call"))
        await until(lambda: len(h.fakes["call"].sent) == 1)
        assert chat.sending == first and chat.done == []  # no second bulk send meanwhile
        chat.open()
        # Every notice goes out although no family answers (no bulk send waits for a
        # family's reply: 30 s here).
        await until(lambda: len(chat.done) == COVERED)
        assert chat.peak <= 8
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
    assert h.runner.chain.lane is not None
    h.runner.chain.lane.limit = 4
    h.runner.chains.close_wait_s = 600.0  # a stop that waited for the chain would hang here
    records = outage()
    stopping: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    try:
        for record in records:
            await h.runner.handle(record)
        await until(lambda: chat.sending > 0 and chat.sending + waiting(h) == COVERED)
        first = chat.sending
        assert first < COVERED  # the first bulk send took the notices there at the time
        left = [i for i in range(COVERED)
                if f"stu-c{i}" not in {m.student_id for m in chat.sent}]
        last = records[1 + left[-1]]
        assert isinstance(last, Incident) and len(left) == COVERED - first
        case_id = case_id_for(last.incident_id)
        # Its chain is still in the lane's queue: stopped at once, not after close_wait_s.
        stopping = asyncio.create_task(h.runner.chains.stop(case_id))
        await until(stopping.done)
        assert case_id not in h.runner.tasks
        assert waiting(h) == COVERED - first - 1
        chat.open()
        await until(lambda: len(chat.done) == COVERED - 1)
        assert last.student_id not in {m.student_id for m in chat.sent}
        kinds = [e.kind for e in await h.cases.timeline(case_id)]
        assert "sending" not in kinds
    finally:
        stopping.cancel()
        await h.runner.aclose()


@dataclass
class Bulk:
    """A bulk send step that records each call and, while `gate` is shut, waits after pushing."""

    calls: list[list[str]] = field(default_factory=list)
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    fail: bool = False

    async def __call__(self, notices: Sequence[tuple[str, Outreach]],
                       pushed: Callable[[], None]) -> dict[str, Sent | None]:
        self.calls.append([case_id for case_id, _ in notices])
        if self.fail:
            raise RuntimeError("database gone")
        pushed()  # the next bulk send may start; the acks are waited for here
        await self.gate.wait()
        return {case_id: (f"{case_id}:chat:1", SendResult("queued")) for case_id, _ in notices}


def lane_of(limit: int, max_hold_s: float, bulk: Bulk) -> NoticeLane:
    """A lane with its own gauge (a registry of its own)."""
    gauge = Gauge("waiting", "notices waiting", registry=CollectorRegistry())
    return NoticeLane(limit, gauge, max_hold_s, bulk)


def notice(case_id: str) -> Outreach:
    """A covered family's decision on `case_id`."""
    return Outreach(f"inc-{case_id}", case_id, f"sess-{case_id}", f"stu-{case_id}", "chat",
                    COVERED_BY_LINE_INCIDENT, T0)


async def test_a_held_lane_sends_nothing_until_resumed_then_all_waiting_in_one_bulk_send() -> None:
    bulk = Bulk()
    bulk.gate.set()
    lane = lane_of(10, max_hold_s=30.0, bulk=bulk)
    lane.hold()
    tasks = [asyncio.create_task(lane.send(f"case-{i}", notice(f"case-{i}"))) for i in range(3)]
    await asyncio.sleep(0.05)
    assert bulk.calls == [] and all(lane.queued(f"case-{i}") for i in range(3))
    lane.resume()
    results = await asyncio.gather(*tasks)
    assert bulk.calls == [["case-0", "case-1", "case-2"]]
    assert [r[0] for r in results if r is not None] == [f"case-{i}:chat:1" for i in range(3)]
    assert not any(lane.queued(f"case-{i}") for i in range(3))


async def test_a_notice_held_longer_than_max_hold_goes_anyway() -> None:
    bulk = Bulk()
    bulk.gate.set()
    lane = lane_of(1, max_hold_s=0.05, bulk=bulk)
    lane.hold()  # and never resumed
    async with asyncio.timeout(2):
        sent = await lane.send("case-1", notice("case-1"))
    assert sent is not None and bulk.calls == [["case-1"]]
    assert lane.held


async def test_one_bulk_send_at_a_time_of_at_most_limit_and_the_next_waits_when_held() -> None:
    bulk = Bulk()
    lane = lane_of(2, max_hold_s=30.0, bulk=bulk)
    tasks = [asyncio.create_task(lane.send(f"case-{i}", notice(f"case-{i}"))) for i in range(5)]
    await until(lambda: len(bulk.calls) == 3)  # pushed: the next may go, its acks pending
    assert bulk.calls == [["case-0", "case-1"], ["case-2", "case-3"], ["case-4"]]
    assert lane.sending == 5
    lane.hold()  # the service fell behind: a notice coming now waits
    late = asyncio.create_task(lane.send("case-5", notice("case-5")))
    await asyncio.sleep(0.05)
    assert len(bulk.calls) == 3 and lane.queued("case-5")
    lane.resume()
    bulk.gate.set()
    await asyncio.gather(*tasks, late)
    assert bulk.calls[-1] == ["case-5"] and lane.sending == 0


async def test_a_cancelled_wait_leaves_the_lane_and_a_failed_bulk_send_fails_each_chain() -> None:
    bulk = Bulk(fail=True)
    lane = lane_of(5, max_hold_s=30.0, bulk=bulk)
    lane.hold()
    gone = asyncio.create_task(lane.send("case-gone", notice("case-gone")))
    kept = asyncio.create_task(lane.send("case-kept", notice("case-kept")))
    await asyncio.sleep(0.01)
    gone.cancel()
    await asyncio.gather(gone, return_exceptions=True)
    assert not lane.queued("case-gone") and lane.waiting._value.get() == 1  # type: ignore[attr-defined]
    lane.resume()
    with pytest.raises(RuntimeError, match="database gone"):
        await kept
    assert bulk.calls == [["case-kept"]]
