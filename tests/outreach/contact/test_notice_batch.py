"""The covered families' notices' send step, done in bulk for the chains waiting together
(issue 20: ~13 statements a family before), gives each family the timeline, the outbox row
and the outcome the one-by-one send step gives; costs a constant number of statements for
any number of families; and a crash between the announce and the attempt sends nothing twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import case_id_for
from outreach.channels.base import OutboundMessage, SendResult
from outreach.channels.chat import ChatChannel
from outreach.contact.notice_batch import NoticeBatch
from outreach.contact.recovery import RECOVERED
from outreach.store import unit
from outreach.store.models import chat_outbox
from outreach.store.outbox import OutboxMessage
from tests.support.casedb import Statements, case_engine, postgres_engines, sqlite_engine  # noqa: F401
from tests.support.line_fakes import line_incident
from tests.support.live_support import T0, until
from tests.support.notice_school import (
    NoticeSchool,
    family,
    notice_of,
    notice_school,
    student,
)

N = 12
OPEN_APPS = (1, 4, 7)  # families whose app is open: their notice is acked (delivered)
BACK = T0 + 49_000  # every family is back a moment before the edge
OVER = T0 + 50_000  # the line incident's end
BULK_STEP = 12  # statements of one bulk send step, whatever the number of families (11 reached)


class CountingChat(ChatChannel):
    """The real chat channel, counting its one-by-one sends and its bulk pushes."""

    sends = 0
    bulk_pushes = 0

    async def send(self, message: OutboundMessage) -> SendResult:
        type(self).sends += 1
        return await super().send(message)

    async def push_many(self, messages: Sequence[OutboundMessage]) -> list[OutboxMessage]:
        type(self).bulk_pushes += 1
        return await super().push_many(messages)


class CrashAfterPush(ChatChannel):
    """The process dies once the messages are pushed, before their attempts are recorded."""

    async def results(self, stored: Sequence[OutboxMessage]) -> list[SendResult]:
        raise RuntimeError("killed after the push")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def two_engines(request: pytest.FixtureRequest,
                      tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """Two fresh case databases of one dialect: one run each."""
    if request.param == "sqlite":
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        a, b = await sqlite_engine(tmp_path / "a"), await sqlite_engine(tmp_path / "b")
        yield a, b
        await a.dispose()
        await b.dispose()
        return
    async with contextlib.AsyncExitStack() as stack:
        (a,) = await stack.enter_async_context(postgres_engines(1))
        (b,) = await stack.enter_async_context(postgres_engines(1))
        yield a, b


@dataclass
class Run:
    """What an outage left: each family's timeline (no times, no ids), outcomes, outbox."""

    timelines: dict[str, list[tuple[str, str, dict[str, Any]]]]
    outcomes: list[dict[str, Any]]
    outbox: list[tuple[Any, ...]]


async def outage(s: NoticeSchool) -> Run:
    """The edge goes down over the families, their notices go out, they come back, it ends."""
    for i in OPEN_APPS:
        await s.open_app(student(i))
    async with unit.batch(s.engine):  # as the Kafka runner applies a poll's records
        await s.runtime.handle(s.line)
        for fam in s.fams:
            await s.runtime.handle(fam)
    async with unit.batch(s.engine):
        for fam in s.fams:
            await s.runtime.handle(notice_of(fam))
    await s.runtime.drain()
    for fam in s.fams:
        await s.runtime.handle(replace(fam, state="closed", ended_at=BACK))
    sessions = [f.session_id or "" for f in s.fams]
    await s.runtime.handle(line_incident("closed", sessions, start=T0, ended=OVER))
    await s.runtime.drain()
    timelines = {case_id: [(e.kind, e.actor, e.data)
                           for e in await s.runtime.cases.timeline(case_id)]
                 for case_id in s.case_ids()}  # fmt: skip
    o = chat_outbox.c
    async with s.engine.connect() as conn:
        rows = (await conn.execute(sa.select(
            o.message_id, o.student_id, o.case_id, o.payload, o.acked_at.is_not(None),
            o.deliveries).order_by(o.message_id))).all()  # fmt: skip
    outcomes = sorted((r.to_dict() for r in s.sink.records), key=lambda r: str(r["case_id"]))
    return Run(timelines, outcomes, [tuple(r) for r in rows])


async def test_each_family_gets_the_same_timeline_outbox_row_and_outcome_in_bulk_as_one_by_one(
    two_engines: tuple[AsyncEngine, AsyncEngine], tmp_path: Path
) -> None:
    one_db, bulk_db = two_engines
    CountingChat.sends = CountingChat.bulk_pushes = 0
    async with notice_school(one_db, tmp_path, N, chat=CountingChat, bulk=False) as s:
        one = await outage(s)
    assert (CountingChat.sends, CountingChat.bulk_pushes) == (N, 0)
    CountingChat.sends = 0
    async with notice_school(bulk_db, tmp_path, N, chat=CountingChat) as s:
        bulk = await outage(s)
    assert CountingChat.sends == 0 and 1 <= CountingChat.bulk_pushes < N

    assert bulk.timelines == one.timelines
    assert bulk.outbox == one.outbox
    assert bulk.outcomes == one.outcomes
    # What they hold: one notice each, shown where the app is open, in the family's language.
    assert len(bulk.outcomes) == N + 1  # the families' and the line case's
    assert {r["outcome"] for r in bulk.outcomes} == {"infra_incident"}
    for i in range(N):
        case_id = case_id_for(family(i).incident_id)
        events = bulk.timelines[case_id]
        kinds = [kind for kind, _, _ in events]
        assert kinds.count("sending") == kinds.count("attempt") == 1
        assert kinds.index("state") < kinds.index("sending") < kinds.index("attempt")
        [attempt] = [data for kind, _, data in events if kind == "attempt"]
        assert attempt["message_id"] == f"{case_id}:chat:1"
        assert attempt["status"] == ("delivered" if i in OPEN_APPS else "queued")
        [fallback] = [data for kind, _, data in events if kind == "fallback"]
        assert fallback["signal"] == ("delivered" if i in OPEN_APPS else "timeout")
    by_student = {row[1]: row for row in bulk.outbox}
    assert by_student[student(3)][3]["language"] == "en"
    assert by_student[student(1)][3]["language"] == "zh-CN"
    assert [row[4] for row in bulk.outbox] == [
        row[1] in {student(i) for i in OPEN_APPS} for row in bulk.outbox]


async def test_a_chat_the_service_adds_after_making_the_runtime_sends_the_notices_in_bulk(
    case_engine: AsyncEngine, tmp_path: Path  # noqa: F811
) -> None:
    CountingChat.sends = CountingChat.bulk_pushes = 0
    async with notice_school(case_engine, tmp_path, N, chat=CountingChat, chat_late=True) as s:
        run = await outage(s)
    assert CountingChat.sends == 0 and CountingChat.bulk_pushes >= 1
    for i in range(N):
        kinds = [kind for kind, _, _ in run.timelines[case_id_for(family(i).incident_id)]]
        assert kinds.count("sending") == kinds.count("attempt") == 1


@pytest.mark.parametrize("n", [50, 200])
async def test_the_bulk_send_step_takes_a_constant_number_of_statements(
    case_engine: AsyncEngine, tmp_path: Path, n: int  # noqa: F811
) -> None:
    async with notice_school(case_engine, tmp_path, n) as s:
        for i in (1, 2):
            await s.open_app(student(i))
        await s.runtime.handle(s.line)
        for fam in s.fams:  # their cases, no decision yet: no chain runs
            await s.runtime.handle(fam)
        batch = NoticeBatch(s.runtime.cases, s.runtime.directory, {"chat": s.chat},
                            s.runtime.metrics)
        pushed: list[int] = []
        counted = Statements(case_engine)
        sent = await batch.send([(case_id_for(f.incident_id), notice_of(f)) for f in s.fams],
                                lambda: pushed.append(len(counted.sent)))
        counted.close()
        print(n, "families, one bulk send step:", counted.count, counted.by_kind())
        acks = [q for q in counted.sent if q.startswith("UPDATE chat_outbox SET acked_at")]
        assert len(acks) == 2  # the two open apps' acks: theirs, not the send step's
        assert counted.count - len(acks) <= BULK_STEP, counted.by_kind()
        assert len(pushed) == 1
        statuses = {case_id: None if r is None else r[1].status for case_id, r in sent.items()}
        assert statuses == {case_id_for(f.incident_id): "delivered" if i in (1, 2) else "queued"
                            for i, f in enumerate(s.fams)}  # fmt: skip
        for case_id in (s.case_ids()[0], s.case_ids()[-1]):
            kinds = [e.kind for e in await s.runtime.cases.timeline(case_id)]
            assert kinds[-3:] == ["state", "sending", "attempt"]
        case = await s.runtime.cases.get(s.case_ids()[-1])
        assert case is not None and (case.state, case.attempts) == ("contacting", 1)


async def test_a_crash_between_bulk_push_and_attempts_resumes_without_pushing_again(
    case_engine: AsyncEngine, tmp_path: Path  # noqa: F811
) -> None:
    n = 3
    async with notice_school(case_engine, tmp_path, n, chat=CrashAfterPush) as s:
        async with unit.batch(s.engine):
            await s.runtime.handle(s.line)
            for fam in s.fams:
                await s.runtime.handle(fam)
                await s.runtime.handle(notice_of(fam))
        await s.runtime.drain()  # every chain failed with the process
        directory = s.runtime.directory
        for case_id in s.case_ids():
            kinds = [e.kind for e in await s.runtime.cases.timeline(case_id)]
            assert "sending" in kinds and "attempt" not in kinds
        # The app of family 0 showed its notice before the restart.
        assert await s.gateway.outbox.ack(f"{s.case_ids()[0]}:chat:1", student(0))
    CountingChat.sends = CountingChat.bulk_pushes = 0
    async with notice_school(case_engine, tmp_path, n, chat=CountingChat,
                             directory=directory) as again:  # fmt: skip
        resumed = await again.runtime.resume()
        assert sorted(resumed) == sorted(again.case_ids())

        async def all_followed() -> bool:
            kinds = [[e.kind for e in await again.runtime.cases.timeline(c)]
                     for c in again.case_ids()]
            return all("fallback" in k for k in kinds)

        await until(all_followed)
        await again.runtime.drain()
        assert (CountingChat.sends, CountingChat.bulk_pushes) == (0, 0)  # nothing pushed again
        for i, case_id in enumerate(again.case_ids()):
            events = await again.runtime.cases.timeline(case_id)
            assert [e.kind for e in events].count("sending") == 1
            [attempt] = [e.data for e in events if e.kind == "attempt"]
            assert attempt["reason"] == RECOVERED and attempt["message_id"] == f"{case_id}:chat:1"
            assert attempt["status"] == ("delivered" if i == 0 else "queued")
        async with case_engine.connect() as conn:
            count = (await conn.execute(sa.select(sa.func.count()).select_from(chat_outbox)))
            assert count.scalar_one() == n  # one message per family, never a second
