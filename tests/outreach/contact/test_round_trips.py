"""What one family's contact costs the case database, in statements (round trips), and on
PostgreSQL in the BEGIN / COMMIT / ROLLBACK that go with them: a family
covered by a line incident, from its incident record to its notice sent and acknowledged, and
an ordinary family's lag -> chat -> answered call. An outage brings ~1,000 covered families
at once (issue 20): these budgets hold what `docs/benchmarks.md` measured."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import case_id_for
from monitor.streaming.bus_feed import ListOutcomeSink
from outreach.channels import CHANNEL_NAMES
from outreach.channels.base import SendResult
from outreach.contact.runtime import CaseRuntime, RuntimeConfig
from outreach.decide.decision import ChannelName
from outreach.decide.signals import CallbackEvent
from outreach.store import unit
from outreach.store.queue import QueueStore
from tests.support.casedb import RoundTrips, case_engine  # noqa: F401
from tests.support.channel_fakes import FakeChannel
from tests.support.line_fakes import ChatWhereOpen, line_incident
from tests.support.live_support import FAST, T0, decision, harness, incident, until

# Statements per family, most that may be sent, by dialect: what was reached plus two
# (PostgreSQL adds the SAVEPOINT and its RELEASE of the batch's join-or-open).
# The covered family's send step is the notice lane's bulk send (of one family here).
COVERED_NOTICE = {"sqlite": 23, "postgresql": 25}  # was 35 / 37, then 27 / 29; reached 21 / 23
CHAT_THEN_CALL = {"sqlite": 38, "postgresql": 40}  # was 56 / 58, reached 36 / 38
# BEGIN / COMMIT / ROLLBACK that asyncpg sends besides (PostgreSQL), most: what was reached.
# Reads and one-statement writes outside a batch go in autocommit; what is left are the
# polls' batches and the writes of several statements (an attempt, a state, a `sending`).
COVERED_NOTICE_CONTROL = 6  # was 14 (7 BEGIN, 4 COMMIT, 3 ROLLBACK)
CHAT_THEN_CALL_CONTROL = 14  # was 38 (19 BEGIN, 9 COMMIT, 10 ROLLBACK)


@dataclass
class Rig:
    """The runtime as `firstcall outreach` builds it (agent queue, fixed wall clock), counted."""

    engine: AsyncEngine
    runtime: CaseRuntime
    chat: ChatWhereOpen
    fakes: dict[ChannelName, FakeChannel]
    counted: RoundTrips

    async def poll(self, *records: object) -> None:
        """Records in one batch, as the Kafka runner applies a poll's records."""
        async with unit.batch(self.engine):
            for record in records:
                await self.runtime.handle(record)  # type: ignore[arg-type]

    async def kinds(self, case_id: str) -> list[str]:
        """The kinds of the case's timeline events, oldest first."""
        return [e.kind for e in await self.runtime.cases.timeline(case_id)]

    async def spent(self, what: str) -> tuple[int, int]:
        """Statements and transaction control sent since the last look (printed by kind, with
        the prepares: run with -s to see them)."""
        await self.counted.settle()
        n, control = self.counted.count, len(self.counted.control)
        print(f"\n{self.engine.dialect.name} {what}: {n} statements", self.counted.summary(),
              f"round trips {self.counted.total}", self.counted.by_kind())
        self.counted.reset()
        return n, control


@pytest.fixture
async def rig(case_engine: AsyncEngine, tmp_path: Path) -> AsyncIterator[Rig]:  # noqa: F811
    base = await harness(case_engine, tmp_path)  # the families of tests/support/live_support.py
    await base.runner.aclose()
    chat = ChatWhereOpen({"stu-1"})
    fakes: dict[ChannelName, FakeChannel] = {n: FakeChannel(n) for n in CHANNEL_NAMES}
    wall = T0 + 60_000
    runtime = CaseRuntime(
        base.cases, base.directory, {**fakes, "chat": chat}, ListOutcomeSink(),  # type: ignore[dict-item]
        config=RuntimeConfig(FAST, close_wait_s=5),
        queue=QueueStore(case_engine, base.cases, lambda: wall), wall=lambda: wall)  # fmt: skip
    counted = RoundTrips(case_engine)
    yield Rig(case_engine, runtime, chat, fakes, counted)
    counted.close()
    await runtime.aclose()


async def test_a_covered_familys_notice_costs_at_most_its_budget(rig: Rig) -> None:
    fam = incident(1, student="stu-1", start=T0 + 1_000)
    line = line_incident("open", [fam.session_id or ""], start=T0)
    await rig.poll(line)
    await rig.counted.settle()  # the line's COMMIT is logged soon after: not this family's
    rig.counted.reset()

    await rig.poll(fam, decision(fam, "chat", "covered_by_line_incident"))
    await rig.runtime.drain()

    spent, control = await rig.spent("covered family: incident -> notice acknowledged")
    case_id = case_id_for(fam.incident_id)
    assert [(m.message_id, m.fault) for m in rig.chat.sent] == [(f"{case_id}:chat:1", "line")]
    assert await rig.kinds(case_id) == [
        "opened", "under_line_incident", "decision", "state", "sending", "attempt", "fallback"]
    [done] = [e.data for e in await rig.runtime.cases.timeline(case_id) if e.kind == "fallback"]
    assert (done["signal"], done["step"]) == ("delivered", "done")
    assert rig.fakes["call"].sent == rig.fakes["sms"].sent == []
    assert spent <= COVERED_NOTICE[rig.engine.dialect.name]
    assert control <= COVERED_NOTICE_CONTROL


async def test_an_ordinary_familys_chat_then_call_costs_at_most_its_budget(rig: Rig) -> None:
    rig.chat.open_for.clear()  # the app does not acknowledge the chat: the family is called
    rig.fakes["call"].script(SendResult("queued", provider_id="p"))
    inc = incident(1, kind="lag", student="stu-1")

    await rig.poll(inc, decision(inc, "chat"))
    await until(lambda: len(rig.fakes["call"].sent) == 1)
    call = rig.fakes["call"].sent[0]
    await rig.runtime.on_callback(CallbackEvent(
        "attempt_outcome", "call", "completed", "CA1", call.case_id, call.message_id, {}))
    await rig.runtime.drain()

    spent, control = await rig.spent("ordinary family: lag -> chat -> answered call")
    case_id = case_id_for(inc.incident_id)
    assert [m.message_id for m in rig.chat.sent + rig.fakes["call"].sent] == [
        f"{case_id}:chat:1", f"{case_id}:call:2"]
    fallbacks = [e.data for e in await rig.runtime.cases.timeline(case_id)
                 if e.kind == "fallback"]
    assert [(d["channel"], d["reason"]) for d in fallbacks] == [
        ("chat", "chat_unanswered"), ("call", "family_reached_by_call")]
    assert spent <= CHAT_THEN_CALL[rig.engine.dialect.name]
    assert control <= CHAT_THEN_CALL_CONTROL
