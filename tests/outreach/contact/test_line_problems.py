"""A line incident is one problem with children: covered families never wait in the queue on
their own, the owner closes them in bulk, and each family hears once that the class works
again after the incident is over (chat where the app is open, else SMS; quiet hours kept)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident, case_id_for
from monitor.streaming.bus_feed import ListOutcomeSink
from outreach.channels import CHANNEL_NAMES
from outreach.channels.chat_gateway import ChatReply
from outreach.contact.metrics import OutreachMetrics
from outreach.contact.runtime import CaseRuntime, RuntimeConfig
from outreach.decide.chat_intents import intent_of
from outreach.decide.decision import ChannelName, PolicyConfig
from outreach.store.line_problems import LineProblems
from outreach.store.queue import QueueStore
from tests.support.casedb import sqlite_engine
from tests.support.channel_fakes import FakeChannel
from tests.support.line_fakes import ChatWhereOpen, line_incident
from tests.support.live_support import FAST, T0, decision, harness, incident

SORRY = "Class is back. Sorry!"


@dataclass
class Outage:
    """A runtime with the agent queue, a chat open for some families, and a fixed wall clock."""

    engine: AsyncEngine
    runtime: CaseRuntime
    queue: QueueStore
    chat: ChatWhereOpen
    sms: FakeChannel
    sink: ListOutcomeSink
    metrics: OutreachMetrics

    async def queued(self) -> list[tuple[str, str]]:
        """(kind, reason) of every queue item."""
        return [(r.kind, r.reason) for r in await self.queue.rows()]

    def counted(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def outage(tmp_path: Path) -> AsyncIterator[Outage]:
    engine = await sqlite_engine(tmp_path)
    base = await harness(engine, tmp_path)  # the families of tests/support/live_support.py
    await base.runner.aclose()
    chat = ChatWhereOpen({"stu-1"})
    fakes: dict[ChannelName, object] = {n: FakeChannel(n) for n in CHANNEL_NAMES}
    fakes["chat"] = chat
    sink, metrics = ListOutcomeSink(), OutreachMetrics.create()
    queue = QueueStore(engine, base.cases, lambda: T0 + 60_000)
    runtime = CaseRuntime(
        base.cases, base.directory, fakes, sink,  # type: ignore[arg-type]
        policy=PolicyConfig(all_clear_text=SORRY), config=RuntimeConfig(FAST, close_wait_s=5),
        metrics=metrics, queue=queue, wall=lambda: T0 + 60_000)
    yield Outage(engine, runtime, queue, chat, fakes["sms"], sink, metrics)  # type: ignore[arg-type]
    await runtime.aclose()
    await engine.dispose()


def families(*students: str) -> list[Incident]:
    return [incident(1, student=s, start=T0 + 1_000) for s in students]


async def test_a_covered_family_that_asks_for_help_is_listed_under_the_line_not_queued(
        outage: Outage) -> None:
    [fam] = families("stu-1")
    line = line_incident("open", [fam.session_id or ""], start=T0)
    await outage.runtime.handle(line)
    await outage.runtime.handle(fam)
    await outage.runtime.handle(decision(fam, "chat", "covered_by_line_incident"))
    await outage.runtime.drain()
    family_case = case_id_for(fam.incident_id)
    await outage.runtime.on_reply(ChatReply("r1", "stu-1", "help", intent_of("help"),
                                            family_case, None))
    assert await outage.queued() == [("line", "line_incident")]
    [child] = await LineProblems(outage.runtime.cases).children(case_id_for(line.incident_id))
    assert (child.case.case_id, child.reason) == (family_case, "covered")
    case = await outage.runtime.cases.get(family_case)
    assert case is not None and case.state != "waiting_agent"
    assert outage.counted("firstcall_outreach_suppressions_total",
                          reason="under_line_incident") == 1


async def test_a_family_queued_before_the_line_verdict_leaves_the_queue_for_the_problem(
        outage: Outage) -> None:
    first, second = families("stu-1", "stu-sms")
    for fam in (first, second):
        await outage.runtime.handle(fam)
        await outage.runtime.handle(decision(fam, "agent_queue", "escalated_dropped"))
    assert sorted(await outage.queued()) == [("disconnect", "escalated_dropped")] * 2
    line = line_incident("open", [first.session_id or "", second.session_id or ""], start=T0)
    await outage.runtime.handle(line)
    assert await outage.queued() == [("line", "line_incident")]
    children = await LineProblems(outage.runtime.cases).children(case_id_for(line.incident_id))
    assert {c.case.student_id for c in children} == {"stu-1", "stu-sms"}


async def test_bulk_close_then_the_end_tells_each_family_once_chat_sms_or_not_in_quiet_hours(
        outage: Outage) -> None:
    fams = families("stu-1", "stu-sms", "stu-quiet")
    sessions = [f.session_id or "" for f in fams]
    line = line_incident("open", sessions, start=T0)
    await outage.runtime.handle(line)
    for fam in fams:
        await outage.runtime.handle(fam)
    await outage.runtime.drain()
    line_case = case_id_for(line.incident_id)
    problems = LineProblems(outage.runtime.cases)
    assert len(await problems.children(line_case)) == 3

    closed = await problems.close_children(line_case, "ann", T0 + 60_000)
    assert sorted(closed) == sorted(case_id_for(f.incident_id) for f in fams)
    await outage.runtime.publish_pending()
    assert sorted(r.outcome for r in outage.sink.records) == ["infra_incident"] * 3
    assert outage.chat.sent == [] and outage.sms.sent == []  # the line is still down

    await outage.runtime.handle(line_incident("closed", sessions, start=T0, ended=T0 + 50_000))
    await outage.runtime.publish_pending()  # asked again: nobody is told twice
    assert [(m.student_id, m.text) for m in outage.chat.sent] == [
        ("stu-1", SORRY), ("stu-quiet", SORRY), ("stu-sms", SORRY)]
    assert [(m.student_id, m.to, m.text) for m in outage.sms.sent] == [
        ("stu-sms", "+14155550123", SORRY)]  # the app was closed; 17:00 is quiet for stu-quiet
    told = {c.case.student_id: [e.data for e in await outage.runtime.cases.timeline(c.case.case_id)
                                if e.kind == "all_clear"]
            for c in await problems.children(line_case)}
    assert [d["status"] for d in told["stu-1"]] == ["delivered"]
    assert [(d["channel"], d["status"]) for d in told["stu-sms"]] == [
        ("chat", "queued"), ("sms", "delivered")]
    assert [(d["channel"], d["reason"]) for d in told["stu-quiet"]][-1] == ("sms", "quiet_hours")


async def test_an_isp_line_of_a_down_edge_goes_under_the_edge_whichever_comes_first(
        outage: Outage) -> None:
    fams = families("stu-1", "stu-sms")
    sessions = [f.session_id or "" for f in fams]
    isp = Incident("line-isp-1", "line", "open", T0, T0 + 9_000, None,
                   {"isp": "isp-a", "region": "north"},
                   {"related_to": "edge:e1", "edge_share": 1.0}, sessions=sessions)
    await outage.runtime.handle(isp)  # on Kafka the ISP line's verdict may come first
    assert await outage.queued() == [("line", "line_incident")]
    edge = line_incident("open", sessions, start=T0)
    await outage.runtime.handle(edge)
    [row] = await outage.queue.rows()
    assert row.case_id == case_id_for(edge.incident_id)
    under = await LineProblems(outage.runtime.cases).children(row.case_id)
    assert [(c.case.case_id, c.reason) for c in under] == [
        (case_id_for(isp.incident_id), "related_line")]
    other = Incident("line-isp-2", "line", "open", T0, T0 + 9_000, None,
                     {"isp": "isp-b", "region": "north"}, {"related_to": "edge:e7"},
                     sessions=sessions)
    await outage.runtime.handle(other)  # its edge is not down: a problem of its own
    assert sorted(await outage.queued()) == [("line", "line_incident")] * 2


async def test_a_new_problem_after_the_line_incident_is_the_familys_own_again(
        outage: Outage) -> None:
    [fam] = families("stu-1")
    line = line_incident("open", [fam.session_id or ""], start=T0)
    await outage.runtime.handle(line)
    await outage.runtime.handle(fam)
    await outage.runtime.handle(line_incident("closed", [fam.session_id or ""], start=T0,
                                              ended=T0 + 50_000))
    later = incident(2, student="stu-1", start=T0 + 10 * 60_000)  # joins the family's case
    await outage.runtime.handle(later)
    family_case = case_id_for(fam.incident_id)
    await outage.runtime.on_reply(ChatReply("r2", "stu-1", "help", intent_of("help"),
                                            family_case, None))
    assert await outage.queued() == [("disconnect", "family_asked_for_help")]


async def test_when_the_line_is_over_its_families_close_at_once_as_an_infra_incident(
        outage: Outage) -> None:
    back_with_edge, back_later, held = families("stu-1", "stu-sms", "stu-quiet")
    fams = (back_with_edge, back_later, held)
    sessions = [f.session_id or "" for f in fams]
    line = line_incident("open", sessions, start=T0)
    await outage.runtime.handle(line)
    for fam in fams:
        await outage.runtime.handle(fam)
        await outage.runtime.handle(decision(fam, "chat", "covered_by_line_incident"))
    await outage.runtime.drain()
    held_case = case_id_for(held.incident_id)
    await outage.runtime.cases.transition(held_case, "waiting_agent", reason="test")
    await outage.runtime.cases.claim(held_case, "ann")  # an agent holds this family
    for fam in (back_with_edge, held):
        await outage.runtime.handle(incident(1, "closed", student=fam.student_id or "",
                                             start=T0 + 1_000, ended=T0 + 49_000))
    assert outage.sink.records == []  # fine since a moment: the case_reopen_ms wait runs

    await outage.runtime.handle(line_incident("closed", sessions, start=T0, ended=T0 + 50_000))
    outcomes = {r.case_id: r.outcome for r in outage.sink.records}
    line_case = case_id_for(line.incident_id)
    assert outcomes == {line_case: "infra_incident",
                        case_id_for(back_with_edge.incident_id): "infra_incident"}
    # The student back only after the edge: closed on return, not 15 minutes later.
    await outage.runtime.handle(incident(1, "closed", student="stu-sms",
                                         start=T0 + 1_000, ended=T0 + 70_000))
    outcomes = {r.case_id: r.outcome for r in outage.sink.records}
    assert outcomes[case_id_for(back_later.incident_id)] == "infra_incident"
    assert held_case not in outcomes  # the agent who holds it closes it
    timeline = await outage.runtime.cases.timeline(case_id_for(back_later.incident_id))
    assert [e.data.get("reason") for e in timeline if e.kind == "state"][-1] == "line_over"
