"""The end of an outage closes its families in a few statements, not ~17 each (issue 20).

When an edge's line incident ends, the runtime closes the line case and every family case
under it whose own problem is over (`line_over`, outcome `infra_incident`), publishes one
outcome per family, and, where the owner closed the children in bulk, tells each family
once that the class works again. These specs hold what that costs in SQL statements, on
SQLite and PostgreSQL, for N families, and that the outcomes are those of closing one by one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident, case_id_for
from monitor.streaming.bus_feed import ListOutcomeSink
from outreach.channels import CHANNEL_NAMES
from outreach.contact.runtime import CaseRuntime, RuntimeConfig
from outreach.decide.decision import ChannelName, PolicyConfig
from outreach.store import unit
from outreach.store.cases import CaseStore
from outreach.store.directory import DirectoryStore
from outreach.store.directory_import import import_file
from outreach.store.line_problems import LineProblems
from outreach.store.queue import QueueStore
from tests.support.casedb import Statements, case_engine  # noqa: F401
from tests.support.channel_fakes import FakeChannel
from tests.support.line_fakes import ChatWhereOpen, line_incident
from tests.support.live_support import FAST, HEADER, T0, decision, incident

NOW = T0 + 60_000  # the wall clock of the runtime and the store
BACK = T0 + 49_000  # every family is back a moment before the edge
OVER = T0 + 50_000  # the line incident's end
CLOSE_BUDGET = 40  # statements to close the line case and all its N families (any N)
OWNER_BUDGET = 10  # statements of the owner's bulk close of N families (any N)
TELL_BUDGET = 40  # statements to tell N families all clear, besides 3 per SMS family


@dataclass
class School:
    """N families on one edge, covered by its line incident, and a runtime over them."""

    engine: AsyncEngine
    runtime: CaseRuntime
    chat: ChatWhereOpen
    sms: FakeChannel
    sink: ListOutcomeSink
    fams: list[Incident]
    line: Incident

    @property
    def line_case(self) -> str:
        return case_id_for(self.line.incident_id)

    @property
    def family_cases(self) -> list[str]:
        return [case_id_for(f.incident_id) for f in self.fams]

    def sessions(self) -> list[str]:
        return [f.session_id or "" for f in self.fams]

    async def line_ends(self) -> Statements:
        """The line incident's `closed` record, in one batch as the Kafka runner applies
        it: the statements it cost (the outcomes' publish notes after the commit included)."""
        counted = Statements(self.engine)
        async with unit.batch(self.engine):
            await self.runtime.handle(line_incident("closed", self.sessions(), start=T0,
                                                    ended=OVER))
        counted.close()
        print(len(self.fams), "families:", counted.count, counted.by_kind())
        return counted


MakeSchool = Callable[[int], Awaitable[School]]


def start_of(i: int) -> int:
    """When family `i`'s problem began (a few seconds apart: minutes lost differ)."""
    return T0 + 1_000 + (i % 7) * 3_000


async def school(engine: AsyncEngine, tmp_path: Path, n: int) -> School:
    """`n` families (every tenth with its app closed) whose problem the line covers."""
    rows = "".join(f"fam-{i},Kid {i},Parent {i},+1415555{i:04d},mother,sms,en,UTC,,no\n"
                   for i in range(n))
    path = tmp_path / f"families-{n}.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    directory = DirectoryStore(engine)
    assert (await import_file(path, directory)).students == n
    cases = CaseStore(engine, lambda: NOW)
    chat = ChatWhereOpen({f"fam-{i}" for i in range(n) if i % 10})
    fakes: dict[ChannelName, object] = {name: FakeChannel(name) for name in CHANNEL_NAMES}
    fakes["chat"] = chat
    sink = ListOutcomeSink()
    runtime = CaseRuntime(
        cases, directory, fakes, sink,  # type: ignore[arg-type]
        policy=PolicyConfig(all_clear_text="Class is back."),
        config=RuntimeConfig(FAST, close_wait_s=5), queue=QueueStore(engine, cases, lambda: NOW),
        wall=lambda: NOW)  # fmt: skip
    fams = [incident(1, student=f"fam-{i}", start=start_of(i)) for i in range(n)]
    line = line_incident("open", [f.session_id or "" for f in fams], start=T0)
    await runtime.handle(line)
    for fam in fams:
        await runtime.handle(fam)
        await runtime.handle(decision(fam, "none", "covered_by_line_incident"))
        await runtime.handle(incident(1, "closed", student=fam.student_id or "",
                                      start=fam.started_at, ended=BACK))
    return School(engine, runtime, chat, fakes["sms"], sink, fams, line)  # type: ignore[arg-type]


@pytest.fixture
async def make_school(case_engine: AsyncEngine,  # noqa: F811
                      tmp_path: Path) -> AsyncIterator[MakeSchool]:
    made: list[School] = []

    async def make(n: int) -> School:
        made.append(await school(case_engine, tmp_path, n))
        return made[-1]

    yield make
    for s in made:
        await s.runtime.aclose()


def expected_record(fam: Incident) -> dict[str, object]:
    """The outcome a family of this outage gets when its case closes one by one (the
    figures the one-by-one path published before the bulk close: held here unchanged)."""
    return {"record": "outcome", "case_id": case_id_for(fam.incident_id),
            "incident_id": fam.incident_id, "session_id": fam.session_id,
            "student_id": fam.student_id, "outcome": "infra_incident",
            "lesson_minutes_lost": round((BACK - fam.started_at) / 60_000, 2),
            "opened_at": NOW, "closed_at": NOW, "attempts": 0}


@pytest.mark.parametrize("n", [50, 200])
async def test_the_line_ends_and_its_families_close_in_a_bounded_number_of_statements(
        make_school: MakeSchool, n: int) -> None:
    s = await make_school(n)
    assert s.sink.records == []  # fine since a moment: nothing closed before the line ends

    counted = await s.line_ends()

    assert counted.count <= CLOSE_BUDGET, counted.by_kind()
    published = [r.to_dict() for r in s.sink.records]
    assert len(published) == n + 1  # exactly one outcome per family, and the line case's
    assert published[0]["case_id"] == s.line_case and published[0]["outcome"] == "infra_incident"
    by_case = {r["case_id"]: r for r in published[1:]}
    assert by_case == {case_id_for(f.incident_id): expected_record(f) for f in s.fams}
    for case_id in (s.family_cases[0], s.family_cases[-1]):
        timeline = await s.runtime.cases.timeline(case_id)
        [closing] = [e.data for e in timeline if e.kind == "state" and e.data["to"] == "closed"]
        assert closing == {"from": "open", "to": "closed", "reason": "line_over",
                           "outcome": "infra_incident"}
        assert [e.kind for e in timeline].count("outcome_published") == 1
    assert s.chat.sent == [] and s.sms.sent == []  # nobody closed them in bulk: no all-clear


@pytest.mark.parametrize("n", [50, 200])
async def test_the_line_ends_after_the_bulk_close_and_each_family_is_told_once_in_few_statements(
        make_school: MakeSchool, n: int) -> None:
    s = await make_school(n)
    owner = Statements(s.engine)
    closed = await LineProblems(s.runtime.cases).close_children(s.line_case, "ann", NOW)
    owner.close()
    print(n, "families closed by the owner:", owner.count, owner.by_kind())
    assert len(closed) == n and owner.count <= OWNER_BUDGET, owner.by_kind()
    await s.runtime.publish_pending()
    assert len(s.sink.records) == n

    counted = await s.line_ends()
    await s.runtime.publish_pending()  # asked again: nobody is told twice

    by_sms = n // 10  # the families whose app is closed: an SMS, after their directory row
    assert counted.count <= TELL_BUDGET + 3 * by_sms, counted.by_kind()
    assert sorted(m.student_id for m in s.chat.sent) == sorted(f"fam-{i}" for i in range(n))
    assert sorted(m.student_id for m in s.sms.sent) == sorted(
        f"fam-{i}" for i in range(0, n, 10))
    assert [r.case_id for r in s.sink.records[n:]] == [s.line_case]  # families published once
    for i in (0, 1, n - 1):
        timeline = await s.runtime.cases.timeline(s.family_cases[i])
        told = [(e.data["channel"], e.data["status"]) for e in timeline if e.kind == "all_clear"]
        assert told == ([("chat", "queued"), ("sms", "delivered")] if i % 10 == 0
                        else [("chat", "delivered")])
