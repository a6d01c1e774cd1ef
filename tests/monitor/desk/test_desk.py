"""The desk in one process with the case runtime: cases by the runtime's rules, telemetry
kept on the case, the desk's live views; beside `firstcall outreach` the desk only watches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident, Outreach, case_id_for
from monitor.desk.desk import Desk
from monitor.desk.live import LiveDesk, LiveOptions, SimClock
from monitor.desk.ring import TelemetryRing
from monitor.desk.views import queue_view
from monitor.streaming.bus_feed import ListOutcomeSink
from outreach.channels.base import SendResult
from outreach.contact.chain import Waits
from outreach.contact.runtime import RuntimeConfig
from outreach.decide.case_states import Refusal
from outreach.decide.family import Guardian, Student
from outreach.store.cases import CaseStore
from outreach.store.db import make_engine, upgrade
from outreach.store.directory import DirectoryStore
from outreach.store.queue import QueueStore
from tests.support.channel_fakes import FakeChannel
from tests.support.desk_scenario import PHONES, T0, scripted_desk
from tests.support.live_support import until

LISTENING = Waits(chat_s=30, call_s=30, sms_s=30)  # the chain waits for the family


def incident(kind: str, state: str, iid: str, ended_at: int | None = None) -> Incident:
    return Incident(incident_id=iid, kind=kind, state=state,  # type: ignore[arg-type]
                    started_at=T0, detected_at=T0 + 1000, ended_at=ended_at,
                    line={"edge": "e", "isp": "i", "region": "r"}, evidence={"drops": 3},
                    session_id="s9", student_id="stu-9", classroom_id="room-z")


def decision(iid: str, action: str, reason: str, at: int = T0 + 11_000) -> Outreach:
    return Outreach(iid, case_id_for(iid), "s9", "stu-9", action, reason, at)  # type: ignore[arg-type]


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(str(tmp_path / "d.db"))
    await upgrade(engine)
    yield engine
    await engine.dispose()


def live_desk(engine: AsyncEngine, waits: Waits = LISTENING) -> tuple[LiveDesk, ListOutcomeSink]:
    sink = ListOutcomeSink()
    chat = FakeChannel("chat")
    live = LiveDesk(engine, SimClock(T0), LiveOptions(
        channels={"chat": chat}, live=RuntimeConfig(waits, close_wait_s=5), sink=sink))
    return live, sink


async def test_the_chart_survives_on_the_case_when_the_ring_has_forgotten(tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk:
        await desk.run_to(80)
        [row] = await desk.live.desk.queue.rows()
        snapshot = [e for e in await desk.live.desk.store.timeline(row.case_id)
                    if e.kind == "telemetry"]
        assert len(snapshot) == 1
        data = snapshot[0].data
        assert data["context"]["device"] == "pc"
        assert data["points"]["rtt_ms"][-1] == 880.0  # the lag was already in the snapshot


async def test_the_desk_keeps_the_familys_device_from_the_join_with_the_case(
        tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk:
        await desk.run_to(150)  # s1 (a pc) lags, s2 (an ipad) drops out
        queue = desk.live.desk.queue
        devices = {r.kind: await queue.device(r.case_id) for r in await queue.rows()}
        assert devices == {"lag": "pc", "disconnect": "ipad"}  # what the outreach's words use
        assert {m.student_id: m.device for m in desk.calls.sent} == {"stu-1": "pc",
                                                                     "stu-2": "ipad"}


async def test_the_agents_call_names_the_familys_device_after_the_ring_forgot_it(
        tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk:
        await desk.run_to(150)
        [drop] = [r for r in await desk.live.desk.queue.rows() if r.kind == "disconnect"]
        desk.live.ring.clear()  # as after a restart of the desk
        await desk.live.desk.queue.claim(drop.case_id, "ann")
        await desk.live.desk.call_guardian(drop.case_id, "ann")
        agents = desk.calls.sent[-1]
        assert (agents.student_id, agents.device, agents.to) == ("stu-2", "ipad", PHONES["stu-2"])
        [attempt] = [e for e in await desk.live.desk.store.timeline(drop.case_id)
                     if e.kind == "attempt" and e.data.get("by") == "ann"]
        assert (attempt.data["channel"], attempt.data["to"]) == ("call", "+47****4562")


async def test_the_agents_call_skips_a_guardian_who_asked_not_to_be_called(
        tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk:
        await desk.run_to(150)
        [drop] = [r for r in await desk.live.desk.queue.rows() if r.kind == "disconnect"]
        await DirectoryStore(desk.engine).save([Student("stu-2", "Kid", "en", "Europe/Oslo", (
            Guardian("Dad", "+4790000001", "father", "call", "en", "Europe/Oslo", None, True),
            Guardian("Aud", "+4790000002", "grandmother", "call", "en", "Europe/Oslo", None,
                     False)))])
        await desk.live.desk.queue.claim(drop.case_id, "ann")
        result = await desk.live.desk.call_guardian(drop.case_id, "ann")
        assert isinstance(result, SendResult) and desk.calls.sent[-1].to == "+4790000002"
        refused = await desk.live.desk.call_guardian(drop.case_id, "bob")
        assert refused == Refusal("not_owner", "ann")


async def test_nobody_answering_chat_call_or_sms_queues_the_lag_and_the_dropout(
        tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk:
        queue, store = desk.live.desk.queue, desk.live.desk.store
        await desk.run_to(33)
        assert await queue.rows() == []  # the policy's hold-off: nothing decided yet
        await desk.run_to(34)  # chat, call, SMS: nobody answers
        [lag] = await queue.rows()
        assert (lag.kind, lag.reason, lag.queued_at) == ("lag", "sms_unanswered", T0 + 34_000)
        await desk.run_to(150)
        assert [(r.kind, r.reason) for r in await queue.rows()] == [
            ("lag", "sms_unanswered"), ("disconnect", "sms_unanswered")]
        drop = (await queue.rows())[1]
        steps = [(e.data["channel"], e.data["step"], e.data["reason"])
                 for e in await store.timeline(drop.case_id) if e.kind == "fallback"]
        assert steps == [("call", "sms", "call_send_failed"), ("sms", "agent_queue",
                                                                "sms_unanswered")]
        assert [(m.student_id, m.to) for m in desk.calls.sent] == [
            ("stu-1", PHONES["stu-1"]), ("stu-2", PHONES["stu-2"])]
        fc = desk.live.desk.state.first_contact_ms
        # lag from 18 s (the first bad interval began), detected at 24 s, chat after the
        # 10 s hold-off; silence from 118 s (the last stats), detected at 128 s, call at 138 s
        assert fc == [16_000, 20_000]


async def test_a_queued_case_whose_problem_ended_closes_escalated_and_leaves_the_queue(
        engine: AsyncEngine) -> None:
    live, sink = live_desk(engine)
    await live.handle(incident("lag", "open", "lag-r1"))
    await live.handle(decision("lag-r1", "agent_queue", "lag"))
    assert [r.reason for r in await live.desk.queue.rows()] == ["lag"]
    await live.handle(incident("lag", "closed", "lag-r1", ended_at=T0 + 5000))
    assert len(await live.desk.queue.rows()) == 1  # the family's case waits case_reopen_ms
    await live.runtime.close_quiet(T0 + 5000 + live.runtime.policy.case_reopen_ms)
    assert await live.desk.queue.rows() == []
    case = await live.desk.store.get("case-r1")
    assert case is not None and (case.state, case.outcome) == ("closed", "escalated")
    assert [(r.case_id, r.outcome) for r in sink.records] == [("case-r1", "escalated")]


async def test_a_held_case_whose_problem_ended_is_left_to_its_agent_and_shown_recovered(
        engine: AsyncEngine) -> None:
    live, sink = live_desk(engine)
    await live.handle(incident("lag", "open", "lag-h1"))
    await live.handle(decision("lag-h1", "agent_queue", "lag"))
    assert await live.desk.queue.claim("case-h1", "ann") is None
    await live.handle(incident("lag", "closed", "lag-h1", ended_at=T0 + 5000))
    case = await live.desk.store.get("case-h1")
    assert case is not None and (case.state, case.owner) == ("waiting_agent", "ann")
    view = await queue_view(live.desk, [], 120_000)
    assert [(h["case_id"], h["owner"], h["recovered"]) for h in view["held"]] == [
        ("case-h1", "ann", True)]
    assert sink.records == []


async def test_a_family_contacted_in_the_chat_whose_problem_healed_is_no_answer(
        engine: AsyncEngine) -> None:
    # The runtime's rule: `resolved_by_chat` needs the family to say so in the chat.
    live, sink = live_desk(engine)
    await live.handle(incident("lag", "open", "lag-c1"))
    await live.handle(decision("lag-c1", "chat", "lag"))
    chat = live.channels["chat"]
    assert isinstance(chat, FakeChannel)
    await until(lambda: len(chat.sent) == 1)
    await live.handle(incident("lag", "closed", "lag-c1", ended_at=T0 + 30_000))
    await live.runtime.close_quiet(T0 + 30_000 + live.runtime.policy.case_reopen_ms)
    case = await live.desk.store.get("case-c1")
    assert case is not None and (case.state, case.outcome) == ("closed", "no_answer")
    steps = [(e.data["channel"], e.data["step"], e.data["reason"])
             for e in await live.desk.store.timeline("case-c1") if e.kind == "fallback"]
    assert steps == [("chat", "done", "incident_closed")]
    assert [(r.case_id, r.outcome) for r in sink.records] == [("case-c1", "no_answer")]


async def test_a_flapping_that_begins_with_a_disconnect_joins_its_case(
        engine: AsyncEngine) -> None:
    live, sink = live_desk(engine)
    await live.handle(incident("disconnect", "open", "disconnect-same"))
    await live.handle(incident("flapping", "open", "flapping-same"))
    events = [e.kind for e in await live.desk.store.timeline("case-same")]
    assert events == ["opened", "incident_joined"]  # the flapping on the disconnect's case
    assert set(live.desk.state.live) == {"disconnect-same", "flapping-same"}
    await live.handle(decision("disconnect-same", "none", "recovered_in_hold_off"))
    await live.handle(incident("disconnect", "closed", "disconnect-same", ended_at=T0 + 5000))
    assert set(live.desk.state.live) == {"flapping-same"}  # the live view still shows it
    await live.handle(decision("flapping-same", "none", "recovered_in_hold_off"))
    await live.handle(incident("flapping", "closed", "flapping-same", ended_at=T0 + 9000))
    case = await live.desk.store.get("case-same")
    # The family's case is over once both problems ended and it was fine for case_reopen_ms.
    assert case is not None and case.state == "open" and sink.records == []
    await live.runtime.close_quiet(T0 + 9000 + live.runtime.policy.case_reopen_ms)
    assert [(r.case_id, r.outcome) for r in sink.records] == [("case-same", "self_recovered")]
    assert live.desk.state.live == {}


async def test_suppressed_calls_are_counted_by_reason(engine: AsyncEngine) -> None:
    live, _ = live_desk(engine)
    await live.handle(incident("lag", "open", "lag-s1"))
    await live.handle(decision("lag-s1", "none", "recovered_in_hold_off", T0 + 9000))
    await live.handle(decision("lag-s1", "chat", "covered_by_line_incident", T0 + 9000))
    assert dict(live.desk.state.suppressed) == {"recovered_in_hold_off": 1,
                                                "covered_by_line_incident": 1}


async def test_beside_the_live_outreach_process_the_desk_only_watches(
        engine: AsyncEngine) -> None:
    store = CaseStore(engine, SimClock(T0))
    desk = Desk(store, QueueStore(engine, store, store.clock), TelemetryRing(), store.clock)
    await desk.apply(incident("lag", "open", "lag-w1"))
    assert await store.get("case-w1") is None  # the outreach process opens cases
    assert set(desk.state.live) == {"lag-w1"}
    await desk.apply(decision("lag-w1", "agent_queue", "lag", T0))
    await desk.apply(decision("lag-w1", "chat", "lag", T0 + 12_000))
    assert await desk.queue.rows() == []
    assert desk.state.first_contact_ms == [12_000]
    await store.record_incident(incident("lag", "open", "lag-w2"), {})  # by the other
    await desk.apply(incident("lag", "open", "lag-w2"))
    kinds = [e.kind for e in await store.timeline("case-w2")]
    assert kinds == ["opened"]  # no telemetry for s9 in the ring: nothing to save
