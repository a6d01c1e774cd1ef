"""The live desk: cases from incidents, telemetry kept on the case, escalation, suppressions."""

from __future__ import annotations

from pathlib import Path

from detectors.records import Incident, Outreach
from monitor.desk.live import LiveDesk, SimClock
from outreach.store.db import make_engine, upgrade
from tests.support.desk_scenario import T0, scripted_desk


def incident(kind: str, state: str, iid: str, ended_at: int | None = None) -> Incident:
    return Incident(incident_id=iid, kind=kind, state=state,  # type: ignore[arg-type]
                    started_at=T0, detected_at=T0 + 1000, ended_at=ended_at,
                    line={"edge": "e", "isp": "i", "region": "r"}, evidence={"drops": 3},
                    session_id="s9", student_id="stu-9", classroom_id="room-z")


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


async def test_the_agents_call_names_the_familys_device_after_the_ring_forgot_it(
        tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk:
        await desk.run_to(150)
        [drop] = [r for r in await desk.live.desk.queue.rows() if r.kind == "disconnect"]
        assert desk.calls.sent[0].device == "ipad"  # the desk's own call, from the ring
        desk.live.ring.clear()  # as after a restart of the desk
        await desk.live.desk.queue.claim(drop.case_id, "ann")
        await desk.live.desk.call_guardian(drop.case_id, "ann")
        assert desk.calls.sent[-1].device == "ipad"  # kept with the case


async def test_a_lag_that_outlives_the_chat_goes_to_the_queue_and_a_failed_call_too(
        tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk:
        await desk.run_to(60)
        assert await desk.live.desk.queue.rows() == []  # chat sent at 34 s, still waiting
        await desk.run_to(70)
        assert [(r.kind, r.reason) for r in await desk.live.desk.queue.rows()] == [
            ("lag", "not_recovered_after_contact")]
        await desk.run_to(150)
        assert [(r.kind, r.reason) for r in await desk.live.desk.queue.rows()] == [
            ("lag", "not_recovered_after_contact"), ("disconnect", "call_failed")]
        assert desk.calls.sent[0].student_id == "stu-2"
        assert desk.calls.sent[0].to == "+4791234567"
        fc = desk.live.desk.state.first_contact_ms
        # lag from 18 s (the first bad interval began), detected at 24 s, chat after the
        # 10 s hold-off; silence from 118 s (the last stats), detected at 128 s, call at 138 s
        assert fc == [16_000, 20_000]


async def test_a_recovered_case_nobody_took_is_closed_after_the_grace(tmp_path: Path) -> None:
    engine = make_engine(str(tmp_path / "d.db"))
    await upgrade(engine)
    live = LiveDesk(engine, SimClock(T0))
    desk = live.desk
    await desk.apply(incident("lag", "open", "lag-r1"))
    await desk.apply(Outreach("lag-r1", "case-r1", "s9", "stu-9", "agent_queue", "lag", T0))
    assert [r.reason for r in await desk.queue.rows()] == ["lag"]
    await desk.apply(incident("lag", "closed", "lag-r1", ended_at=T0 + 5000))
    await live.advance(T0 + 60_000)
    assert len(await desk.queue.rows()) == 1  # still shown, marked recovered
    await live.advance(T0 + 5000 + desk.recovered_grace_ms)
    assert await desk.queue.rows() == []
    case = await desk.store.get("case-r1")
    assert case is not None and (case.state, case.outcome) == ("closed", "self_recovered")
    await engine.dispose()


async def test_a_flapping_that_begins_with_a_disconnect_joins_its_case(tmp_path: Path) -> None:
    engine = make_engine(str(tmp_path / "d.db"))
    await upgrade(engine)
    desk = LiveDesk(engine, SimClock(T0)).desk
    await desk.apply(incident("disconnect", "open", "disconnect-same"))
    await desk.apply(incident("flapping", "open", "flapping-same"))
    events = [e.kind for e in await desk.store.timeline("case-same")]
    assert events[0] == "opened" and "flapping_open" in events
    assert set(desk.state.live) == {"disconnect-same", "flapping-same"}
    await desk.apply(incident("disconnect", "closed", "disconnect-same", ended_at=T0 + 5000))
    await desk.tick()
    case = await desk.store.get("case-same")
    assert case is not None and case.state == "open"  # the flapping goes on
    await desk.apply(incident("flapping", "closed", "flapping-same", ended_at=T0 + 9000))
    await desk.tick()
    case = await desk.store.get("case-same")
    assert case is not None and (case.state, case.outcome) == ("closed", "self_recovered")
    await engine.dispose()


async def test_suppressed_calls_are_counted_by_reason(tmp_path: Path) -> None:
    engine = make_engine(str(tmp_path / "d.db"))
    await upgrade(engine)
    desk = LiveDesk(engine, SimClock(T0)).desk
    await desk.apply(incident("lag", "open", "lag-s1"))
    await desk.apply(Outreach("lag-s1", "case-s1", "s9", "stu-9", "none",
                              "recovered_in_hold_off", T0 + 9000))
    await desk.apply(Outreach("lag-s1", "case-s1", "s9", "stu-9", "chat",
                              "covered_by_line_incident", T0 + 9000))
    assert dict(desk.state.suppressed) == {"recovered_in_hold_off": 1,
                                           "covered_by_line_incident": 1}
    await engine.dispose()


async def test_beside_the_live_outreach_process_the_desk_only_watches(tmp_path: Path) -> None:
    engine = make_engine(str(tmp_path / "d.db"))
    await upgrade(engine)
    live = LiveDesk(engine, SimClock(T0))
    desk = live.desk
    desk.owns_cases = False
    await desk.apply(incident("lag", "open", "lag-w1"))
    assert await desk.store.get("case-w1") is None  # the outreach process opens cases
    assert set(desk.state.live) == {"lag-w1"}
    await desk.apply(Outreach("lag-w1", "case-w1", "s9", "stu-9", "agent_queue", "lag", T0))
    await desk.apply(Outreach("lag-w1", "case-w1", "s9", "stu-9", "chat", "lag", T0 + 12_000))
    await live.advance(T0 + 600_000)
    assert await desk.queue.rows() == []
    assert desk.state.first_contact_ms == [12_000]
    await desk.store.record_incident(incident("lag", "open", "lag-w2"), {})  # by the other
    await desk.apply(incident("lag", "open", "lag-w2"))
    kinds = [e.kind for e in await desk.store.timeline("case-w2")]
    assert kinds == ["opened"]  # no telemetry for s9 in the ring: nothing to save
    await engine.dispose()
