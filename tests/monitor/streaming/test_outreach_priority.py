"""An outage's covered families do not hold up an ordinary family within a poll (issue 20)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident, Outreach, case_id_for
from monitor.platform.kafka_settings import KafkaSettings
from monitor.streaming.outreach_kafka import BEHIND_RECORDS, KafkaOutreach
from outreach.channels.base import OutboundMessage, SendResult
from outreach.contact.chain import Waits
from outreach.contact.notice_lane import NoticeLane
from outreach.decide.decision import COVERED_BY_LINE_INCIDENT, PolicyConfig
from outreach.decide.policy import OutreachPolicy
from outreach.store.models import case_events
from tests.support.casedb import Begins, case_engine  # noqa: F401
from tests.support.channel_fakes import FakeChannel
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

COVERED = 30
SLOW = Waits(chat_s=30.0, call_s=30.0, sms_s=30.0)  # no family answers within the test


class LoggedChannel(FakeChannel):
    """A fake channel that also notes each send in a log shared by every channel."""

    def __init__(self, name: str, log: list[str]) -> None:
        super().__init__(name)  # type: ignore[arg-type]
        self.log = log

    async def send(self, message: OutboundMessage) -> SendResult:
        """Note the student, then send as the fake does (queued: no reply comes)."""
        self.log.append(f"{self.name}:{message.student_id}")
        await super().send(message)
        return SendResult("queued", provider_id=message.message_id)


async def logged(engine: AsyncEngine, tmp_path: Path) -> tuple[Harness, list[str]]:
    """A runner whose chat, call and SMS note every send in one log, in order."""
    base = await harness(engine, tmp_path, SLOW)
    log: list[str] = []
    channels = {n: LoggedChannel(n, log) for n in ("chat", "call", "sms")}
    return make_runner(engine, base.cases, base.directory, SLOW, channels=channels), log


def outage_poll() -> tuple[list[Incident | Outreach], Incident]:
    """A poll as the service reads it (incidents, then decisions): an edge's line incident,
    its families' drops and notices, and amid them one ordinary family's drop and call."""
    drops = [incident(i, student=f"stu-c{i}", start=T0 + 1_000) for i in range(COVERED)]
    line = line_incident("open", [d.session_id or "" for d in drops], start=T0)
    ordinary = incident(1, room="room-9", start=T0 + 2_000)  # stu-1, whose family takes calls
    notices = [decision(d, "chat", COVERED_BY_LINE_INCIDENT) for d in drops]
    half = COVERED // 2
    return [line, *drops[:half], ordinary, *drops[half:], *notices[:half],
            decision(ordinary, "call"), *notices[half:]], ordinary


async def decided_cases(engine: AsyncEngine) -> list[str]:
    """The cases in the order their decisions were written."""
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(case_events.c.case_id)
                                  .where(case_events.c.kind == "decision")
                                  .order_by(case_events.c.event_id))
        return [row.case_id for row in rows]


async def test_an_ordinary_family_is_contacted_before_the_outage_s_covered_families(
    case_engine: AsyncEngine,  # noqa: F811
    tmp_path: Path,
) -> None:
    h, log = await logged(case_engine, tmp_path)
    feed = KafkaOutreach(KafkaSettings(clock="event"), h.runner)
    records, ordinary = outage_poll()
    counted = Begins(case_engine)
    try:
        await feed.apply_all(records)
        # Its records went first and were committed on their own: its call started then,
        # before the covered families' records were taken.
        assert counted.committed >= 2
        mine = case_id_for(ordinary.incident_id)
        decided = await decided_cases(case_engine)
        assert decided[0] == mine and len(decided) == COVERED + 1
        assert next(iter(h.runner.chains.started)) == mine
        await until(lambda: len(log) == COVERED + 1)
        assert sorted(log) == sorted([*(f"chat:stu-c{i}" for i in range(COVERED)), "call:stu-1"])
        if case_engine.dialect.name == "postgresql":
            # The call went out while the batch was still taking the covered families. (On
            # SQLite, one writer at a time: the call's chain waits for the batch's commit to
            # write, then polls for the lock like the covered families' chains.)
            assert log[0] == "call:stu-1"
    finally:
        await h.runner.aclose()


async def test_a_drop_before_the_line_record_that_covers_it_gets_the_notice_not_a_call(
    case_engine: AsyncEngine,  # noqa: F811
    tmp_path: Path,
) -> None:
    h, log = await logged(case_engine, tmp_path)
    feed = KafkaOutreach(KafkaSettings(clock="event"), h.runner,
                         policy=OutreachPolicy(PolicyConfig(), print))  # fmt: skip
    covered = incident(1, start=T0 + 1_000)  # stu-1, whose family takes calls
    other = incident(2, student="stu-sms", room="room-2", start=T0 + 1_000)
    line = line_incident("open", [covered.session_id or ""], start=T0, )
    try:
        # One poll: the family's drop comes before the line record that covers it.
        await feed.apply_all([covered, other, line])
        await feed.apply_all([incident(3, student="stu-quiet", start=T0 + 30_000)])  # time on
        await until(lambda: len(log) == 2)
        assert sorted(log) == ["chat:stu-1", "sms:stu-sms"]  # stu-1 is never phoned
        timeline = await h.cases.timeline(case_id_for(covered.incident_id))
        [decided] = [e for e in timeline if e.kind == "decision"]
        assert decided.data["reason"] == COVERED_BY_LINE_INCIDENT
        assert decided.data["action"] == "chat"
    finally:
        await h.runner.aclose()


async def paced(
    engine: AsyncEngine, tmp_path: Path
) -> tuple[Harness, list[str], KafkaOutreach, NoticeLane]:
    """A logged runner, the service's feed in front of it, and its covered notices' lane."""
    h, log = await logged(engine, tmp_path)
    lane = h.runner.chain.lane
    assert lane is not None
    return h, log, KafkaOutreach(KafkaSettings(clock="event"), h.runner), lane


async def test_while_the_service_is_behind_the_covered_notices_wait_and_go_once_it_caught_up(
    case_engine: AsyncEngine,  # noqa: F811
    tmp_path: Path,
) -> None:
    h, log, feed, lane = await paced(case_engine, tmp_path)
    records, ordinary = outage_poll()
    try:
        feed.pace(BEHIND_RECORDS)  # a poll this big: behind
        assert lane.held
        await feed.apply_all(records)
        # The ordinary family is called; no covered notice goes while the service is behind.
        await until(lambda: "call:stu-1" in log)
        await asyncio.sleep(0.2)
        assert [e for e in log if e.startswith("chat:")] == []
        assert h.counted("firstcall_outreach_covered_notices_waiting") == COVERED
        feed.pace(3)  # a small poll: caught up, the notices take their turns
        assert not lane.held
        await until(lambda: sum(e.startswith("chat:") for e in log) == COVERED)
        assert log[0] == f"call:{ordinary.student_id}"
    finally:
        await h.runner.aclose()


async def test_a_step_that_applied_many_decisions_counts_as_behind(
    case_engine: AsyncEngine,  # noqa: F811
    tmp_path: Path,
) -> None:
    h, _log, feed, lane = await paced(case_engine, tmp_path)
    try:
        feed.decided_last = BEHIND_RECORDS  # the in-process policy decided this many at once
        feed.pace(0)
        assert lane.held
        feed.decided_last = 0
        feed.pace(BEHIND_RECORDS - 1)
        assert not lane.held
    finally:
        await h.runner.aclose()
