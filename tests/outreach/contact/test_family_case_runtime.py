"""One family, one case in the live runtime: joined incidents, escalation, one outcome."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident, Outreach, case_id_for
from outreach.channels.base import SendResult
from outreach.contact.chain import Waits
from outreach.contact.quiet import QuietBook, quiet_deadline
from outreach.decide.decision import PolicyConfig
from outreach.decide.policy import OutreachPolicy
from outreach.store.cases import CaseStore
from outreach.store.db import make_engine, upgrade
from outreach.store.directory import DirectoryStore
from outreach.store.models import cases
from outreach.store.queue import QueueStore
from tests.support.casedb import (  # noqa: F401
    PG_DSN,
    case_engine,
    drop_schema,
    postgres_schema,
    sqlite_engine,
)
from tests.support.live_support import (
    T0,
    Harness,
    decision,
    harness,
    incident,
    make_runner,
    until,
)

MIN = 60_000
QUEUED = SendResult("queued", provider_id="p")
LISTENING = Waits(chat_s=60, call_s=60, sms_s=60)  # nobody answers while the test runs
QUICK = Waits(chat_s=0.05, call_s=0.05, sms_s=0.05)


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    engine: AsyncEngine = await sqlite_engine(tmp_path)
    made = await harness(engine, tmp_path, LISTENING)
    made.runner.queue = QueueStore(engine, made.cases)
    yield made
    await made.runner.aclose()
    await engine.dispose()


def problem(kind: str, start: int, lasts: int = 40_000) -> list[Incident]:
    """An incident of stu-1 detected 5 s after it began, and its close."""
    base = dict(incident_id=f"{kind}-stu-1-{start}", kind=kind, started_at=start,
                detected_at=start + 5_000, line={"edge": "e1"}, evidence={},
                session_id="sess-stu-1", student_id="stu-1", classroom_id="room-1")
    return [Incident(state="open", ended_at=None, **base),  # type: ignore[arg-type]
            Incident(state="closed", ended_at=start + lasts, **base)]  # type: ignore[arg-type]


def decided(incidents: list[Incident], until: int) -> list[Incident | Outreach]:
    """The incidents and the policy's decisions (contract 1.1), in event-time order."""
    out: list[Outreach] = []
    policy = OutreachPolicy(PolicyConfig(), out.append)

    def at(record: Incident | Outreach) -> int:
        if isinstance(record, Outreach):
            return record.decided_at
        return record.detected_at if record.state == "open" else record.ended_at or 0

    for inc in sorted(incidents, key=at):
        policy.advance(at(inc))
        policy.on_incident(inc)
    policy.advance(until)
    return sorted([*incidents, *out], key=at)


async def test_a_chronic_link_is_one_case_one_chat_one_technician_one_outcome(
    h: Harness,
) -> None:
    h.fakes["chat"].script(QUEUED)
    incidents = [i for k in range(8) for i in problem("lag", T0 + k * 2 * MIN)]
    records = decided(incidents, T0 + 20 * MIN)
    reasons = [r.reason for r in records if isinstance(r, Outreach)]
    assert reasons[:3] == ["lag", "joined_open_case", "escalated_recurring"]
    for record in records:
        await h.runner.handle(record)
    assert [m.channel for f in h.fakes.values() for m in f.sent] == ["chat"]
    [case] = {m.case_id for m in h.fakes["chat"].sent}
    rows = await h.runner.queue.rows()  # type: ignore[union-attr]
    assert [(r.case_id, r.reason) for r in rows] == [(case, "escalated_recurring")]
    stored = await h.cases.get(case)
    assert stored is not None and stored.state == "waiting_agent"
    assert len(await h.runner.joins.incidents(case)) == 8
    decisions = [e for e in await h.cases.timeline(case) if e.kind == "decision"]
    assert len(decisions) == 8 and {e.data["case_id"] for e in decisions} == {case}
    assert h.sink.records == []  # the family's case waits until it has been fine 15 min
    assert await h.runner.close_quiet(T0 + 14 * MIN + 40_000 + 15 * MIN - 1) == []
    assert await h.runner.close_quiet(T0 + 14 * MIN + 40_000 + 15 * MIN) == [case]
    [outcome] = h.sink.records
    assert (outcome.case_id, outcome.outcome) == (case, "escalated")
    assert outcome.lesson_minutes_lost == round(8 * 40_000 / MIN, 2)  # every problem adds up
    assert await h.runner.queue.rows() == []  # type: ignore[union-attr]


async def test_a_drop_after_chat_calls_once_on_the_family_case(h: Harness) -> None:
    h.fakes["chat"].script(QUEUED)
    h.fakes["call"].script(QUEUED)
    lag = problem("lag", T0, lasts=30_000)
    drop = problem("disconnect", T0 + 60_000, lasts=3 * MIN)
    records = decided([*lag, *drop], T0 + 10 * MIN)
    assert [r.reason for r in records if isinstance(r, Outreach)] == ["lag", "escalated_dropped"]
    for record in records:
        await h.runner.handle(record)
    [chat], [call] = h.fakes["chat"].sent, h.fakes["call"].sent
    assert chat.case_id == call.case_id
    steps = [(e.data["channel"], e.data["reason"])
             for e in await h.cases.timeline(chat.case_id) if e.kind == "fallback"]
    assert steps[0] == ("chat", "incident_closed")  # the chat gave way to the call
    await h.runner.close_quiet(T0 + 4 * MIN + 15 * MIN)
    assert [r.case_id for r in h.sink.records] == [chat.case_id]


async def test_a_problem_within_the_reopen_time_joins_after_fine_opens_anew(h: Harness) -> None:
    # Fine from T0+10:40 on: over at 25:40, joinable until 40:40; `later` is detected after.
    first, again, later = problem("lag", T0), problem("lag", T0 + 10 * MIN), problem(
        "lag", T0 + 41 * MIN)
    for record in decided([*first, *again], T0 + 12 * MIN):
        await h.runner.handle(record)
    one = {c.case_id for c in await h.cases.cases_in_state("open")} | {
        c.case_id for c in await h.cases.cases_in_state("contacting")}
    assert len(one) == 1
    await h.runner.close_quiet(T0 + 10 * MIN + 40_000 + 15 * MIN)
    for record in decided(later, T0 + 42 * MIN):
        await h.runner.handle(record)
    case_ids = {(await h.runner.joins.case_of(i.incident_id)).case_id  # type: ignore[union-attr]
                for i in [*first, *again, *later]}
    assert len(case_ids) == 2 and [r.case_id for r in h.sink.records] == sorted(one)


async def test_a_problem_soon_after_the_case_closed_reopens_it_as_the_policy_says(
    case_engine: AsyncEngine, tmp_path: Path  # noqa: F811
) -> None:
    h = await harness(case_engine, tmp_path, LISTENING)
    try:
        h.fakes["chat"].script(QUEUED)
        first = problem("lag", T0)  # fine from T0+40 s: over (closed) at T0+15:40
        back = problem("lag", T0 + 25 * MIN)  # 9:20 after the close
        records = decided([*first, *back], T0 + 60 * MIN)
        [case] = {r.case_id for r in records if isinstance(r, Outreach)}  # the policy joins
        assert case == case_id_for(first[0].incident_id)
        cut = next(i for i, r in enumerate(records) if r in back)
        for record in records[:cut]:
            await h.runner.handle(record)
        assert await h.runner.close_quiet(T0 + 40_000 + 15 * MIN) == [case]  # the sweep
        assert [r.case_id for r in h.sink.records] == [case]
        for record in records[cut:]:
            await h.runner.handle(record)
        stored = await h.cases.get(case)
        assert stored is not None and stored.state != "closed"  # reopened, not a new case
        assert len(await h.runner.joins.incidents(case)) == 2
        decisions = [e.data for e in await h.cases.timeline(case) if e.kind == "decision"]
        assert [d["case_id"] for d in decisions] == [case, case]
        assert not any("policy_case_id" in d for d in decisions)  # the store agrees
        assert [m.channel for f in h.fakes.values() for m in f.sent] == ["chat"]
        assert await h.runner.close_quiet(T0 + 25 * MIN + 40_000 + 15 * MIN) == [case]
        # Closed again: its outcome once more, with both problems' minutes.
        assert [r.case_id for r in h.sink.records] == [case, case]
        assert h.sink.records[-1].lesson_minutes_lost == round(80_000 / MIN, 2)
        async with case_engine.connect() as conn:
            count = (await conn.execute(sa.select(sa.func.count()).select_from(cases))).scalar()
        assert count == 1
    finally:
        await h.runner.aclose()


def test_a_quiet_case_closes_after_the_reopen_time_or_at_the_lesson_end() -> None:
    assert quiet_deadline(MIN, 15 * MIN, None) == 16 * MIN
    assert quiet_deadline(MIN, 15 * MIN, 5 * MIN) == 5 * MIN
    assert quiet_deadline(MIN, 15 * MIN, 30_000) == MIN  # the lesson was over already
    book = QuietBook()
    book.set("a", 10)
    book.set("b", 20)
    book.drop("b")
    assert book.due(9) == [] and book.due(10) == ["a"] and book.due(99) == []


STEP = st.tuples(st.sampled_from(["lag", "disconnect", "flapping"]), st.integers(0, 20),
                 st.integers(5_000, 5 * MIN), st.sampled_from(["stu-1", "stu-sms"]))  # fmt: skip


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(STEP, min_size=1, max_size=10))
def test_one_open_case_per_student_and_every_incident_on_one_case(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, int, int, str]]
) -> None:
    asyncio.run(_one_case_per_student(tmp_path_factory.mktemp("db"), steps))


async def _one_case_per_student(tmp: Path, steps: list[tuple[str, int, int, str]]) -> None:
    engine = await sqlite_engine(tmp)
    h = await harness(engine, tmp, Waits(chat_s=0.01, call_s=0.01, sms_s=0.01))
    try:
        incidents, t = [], T0
        for n, (kind, gap_min, lasts, student) in enumerate(steps):
            t += gap_min * MIN + 1_000
            base = dict(incident_id=f"{kind}-{student}-{n}", kind=kind, started_at=t,
                        detected_at=t + 5_000, line={"edge": "e1"}, evidence={},
                        session_id=f"sess-{student}", student_id=student, classroom_id="r")
            incidents += [Incident(state="open", ended_at=None, **base),  # type: ignore[arg-type]
                          Incident(state="closed", ended_at=t + lasts, **base)]  # type: ignore[arg-type]
        for record in decided(incidents, t + 90 * MIN):
            await h.runner.handle(record)
            async with engine.connect() as conn:
                open_per_student = (await conn.execute(
                    sa.select(cases.c.student_id, sa.func.count()).where(cases.c.state != "closed")
                    .group_by(cases.c.student_id))).all()  # fmt: skip
            assert all(n == 1 for _, n in open_per_student)  # never two open cases
        await h.runner.drain()
        await h.runner.close_quiet(t + 5 * MIN + 15 * MIN + 1)
        on_case = {i.incident_id: await h.runner.joins.case_of(i.incident_id) for i in incidents}
        assert None not in on_case.values()  # every incident joined a case or opened one
        every_case = {c.case_id for c in on_case.values() if c is not None}
        timelines = [await h.cases.timeline(cid) for cid in every_case]
        opened = [e for events in timelines for e in events if e.kind == "opened"]
        assert len(opened) == len(every_case)  # opened once, then joined
        by_case = Counter(r.case_id for r in h.sink.records)
        reopened = Counter(e.case_id for events in timelines for e in events
                           if e.kind == "reopened")  # fmt: skip
        assert set(by_case) == every_case  # one outcome per closing (a reopened case again)
        assert all(by_case[cid] == 1 + reopened[cid] for cid in every_case), (by_case, reopened)
    finally:
        await h.runner.aclose()
        await engine.dispose()


@pytest.mark.postgres
async def test_two_replicas_given_one_family_at_once_make_one_case_and_one_contact(
    tmp_path: Path,
) -> None:
    # Two workers' partitions each decided a first contact for one family (two sessions);
    # two outreach replicas carry them out at the same moment on one PostgreSQL database.
    schema = await postgres_schema()
    engines = [make_engine(PG_DSN, schema=schema) for _ in range(2)]
    replicas: list[Harness] = []
    try:
        await upgrade(engines[0])
        replicas.append(await harness(engines[0], tmp_path, QUICK))
        replicas.append(make_runner(engines[1], CaseStore(engines[1]),
                                    DirectoryStore(engines[1]), QUICK))  # fmt: skip
        for r in replicas:
            r.fakes["chat"].script(*[QUEUED] * 6)
        for round_ in range(3):
            start = T0 + round_ * 3_600_000
            feeds = []
            for n in range(len(replicas)):
                inc = incident(10 * round_ + n, kind="lag", room=f"room-{round_}-{n}", start=start)
                feeds.append([inc, decision(inc, "chat")])

            async def feed(r: Harness, records: list[Incident | Outreach]) -> None:
                for record in records:
                    await r.runner.handle(record)

            await asyncio.gather(*(feed(r, f) for r, f in zip(replicas, feeds, strict=True)))
            for r in replicas:
                await r.runner.drain()
            sent = [m for r in replicas for m in r.fakes["chat"].sent]
            assert len(sent) == round_ + 1, sent  # one contact per family case
            calls = [m.case_id for r in replicas for m in r.fakes["call"].sent]
            assert len(calls) == len(set(calls))  # the chain's call once per case, never twice
            cases_now = {(await r.runner.joins.case_of(f[0].incident_id)).case_id  # type: ignore[union-attr]
                         for r, f in zip(replicas, feeds, strict=True)}
            assert len(cases_now) == 1 and cases_now <= {m.case_id for m in sent}
            for r, f in zip(replicas, feeds, strict=True):  # the lesson's problems end
                closed = incident(int(f[0].incident_id.rsplit("-", 1)[1]), "closed", kind="lag",
                                  room=f[0].classroom_id or "", start=start)
                await r.runner.handle(closed)
            for r in replicas:
                await r.runner.close_quiet(start + 60_000 + 15 * MIN)
        outcomes = [rec.case_id for r in replicas for rec in r.sink.records]
        assert len(outcomes) == 3 and len(set(outcomes)) == 3  # one outcome per case
    finally:
        for r in replicas:
            await r.runner.aclose()
        for engine in engines:
            await engine.dispose()
        await drop_schema(schema)


async def test_a_restart_carries_on_the_escalation_chain_of_a_joined_incident(
    tmp_path: Path,
) -> None:
    engine = await sqlite_engine(tmp_path)
    h = await harness(engine, tmp_path, Waits(chat_s=30, call_s=30, sms_s=0.05))
    again: Harness | None = None
    try:
        h.fakes["chat"].script(QUEUED)
        h.fakes["call"].script(QUEUED)
        lag, drop = problem("lag", T0, lasts=30_000), problem("disconnect", T0 + MIN)
        for record in decided([lag[0], lag[1], drop[0]], T0 + 3 * MIN):
            await h.runner.handle(record)
        await until(lambda: len(h.fakes["call"].sent) == 1)  # the drop's escalation
        [call] = h.fakes["call"].sent
        await h.runner.aclose()  # dies waiting for the call's status
        data = {"status": "no-answer", "provider_id": "CA1", "message_id": call.message_id}
        await h.cases.add_event(call.case_id, "call_fallback", data, actor="twilio")
        again = h.restart()
        again.fakes["sms"].script(QUEUED)
        assert await again.runner.resume() == [call.case_id]
        await again.runner.drain()
        assert again.fakes["call"].sent == [] and len(again.fakes["sms"].sent) == 1
        assert again.fakes["sms"].sent[0].case_id == call.case_id
    finally:
        if again is not None:
            await again.runner.aclose()
        await engine.dispose()
