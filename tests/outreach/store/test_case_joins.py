"""One family, one case in the database: join-or-open, race-free, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident, case_id_for
from outreach.store.case_joins import CaseJoins
from outreach.store.cases import CaseStore
from outreach.store.models import cases
from tests.support.casedb import case_engine, postgres_engines  # noqa: F401


def incident(
    iid: str, student: str | None = "stu-1", state: str = "open", ended: int | None = None,
    start: int = 1_000, kind: str = "lag",
) -> Incident:
    return Incident(
        incident_id=iid, kind=kind, state=state,  # type: ignore[arg-type]
        started_at=start, detected_at=start + 5_000, ended_at=ended, line={}, evidence={},
        session_id="sess-1", student_id=student, classroom_id="room-1",
    )  # fmt: skip


async def test_a_second_incident_of_the_student_joins_the_open_case(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    joins = CaseJoins(CaseStore(case_engine))
    first = await joins.take(incident("lag-1"), {"v": 1}, at=1_000)
    second = await joins.take(incident("disconnect-2", kind="disconnect", start=60_000), {},
                              at=61_000)  # fmt: skip
    assert (first.created, first.fresh, second.created, second.fresh) == (True, True, False, True)
    assert second.case.case_id == first.case.case_id == case_id_for("lag-1")
    assert second.case.policy == {"v": 1}  # the policy frozen when the case opened
    spans = await joins.incidents(first.case.case_id)
    assert [(i.incident_id, i.started_at, i.ended_at) for i in spans] == [
        ("lag-1", 1_000, None), ("disconnect-2", 60_000, None)]
    timeline = await joins.store.timeline(first.case.case_id)
    assert [(e.kind, e.data["incident_id"]) for e in timeline] == [
        ("opened", "lag-1"), ("incident_joined", "disconnect-2")]
    again = await joins.take(incident("disconnect-2", kind="disconnect", start=60_000), {})
    assert (again.created, again.fresh, again.case.case_id) == (False, False, first.case.case_id)
    other = await joins.take(incident("lag-9", student="stu-2"), {})
    assert other.created and other.case.case_id == case_id_for("lag-9")


async def test_the_case_problem_ends_with_its_last_incident(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    joins = CaseJoins(CaseStore(case_engine))
    cid = (await joins.take(incident("lag-1"), {})).case.case_id
    await joins.take(incident("lag-2", start=30_000), {})
    ended = await joins.update(incident("lag-1", state="closed", ended=50_000))
    assert ended is not None and ended.incident_ended_at is None  # lag-2 still lasts
    ended = await joins.update(incident("lag-2", state="closed", ended=40_000))
    assert ended is not None and ended.incident_ended_at == 50_000
    assert await joins.update(incident("lag-x", state="closed", ended=1)) is None
    back = await joins.take(incident("lag-3", start=70_000), {})
    assert back.case.case_id == cid and back.case.incident_ended_at is None
    kinds = [e.kind for e in await joins.store.timeline(cid)]
    assert kinds == ["opened", "incident_joined", "incident_closed", "incident_closed",
                     "incident_joined"]  # fmt: skip


async def test_after_the_case_closed_the_next_incident_opens_a_new_case(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    store = CaseStore(case_engine)
    joins = CaseJoins(store)
    first = (await joins.take(incident("lag-1", state="closed", ended=9_000), {})).case
    assert first.incident_ended_at == 9_000
    await store.close(first.case_id, "self_recovered")
    later = await joins.take(incident("lag-2", start=3_600_000), {})
    assert later.created and later.case.case_id != first.case_id
    assert (await joins.open_for_student("stu-1")) == later.case


REOPEN = {"case_reopen_ms": 900_000, "family_cases": True}


async def test_a_problem_within_the_reopen_time_after_the_close_reopens_the_case(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    # The student was fine from 9 s on: the case is over at 909 s (and closed then); an
    # incident detected before 1809 s joins it again, as the policy's record says.
    store = CaseStore(case_engine)
    joins = CaseJoins(store)
    first = (await joins.take(incident("lag-1", state="closed", ended=9_000), REOPEN)).case
    await store.close(first.case_id, "self_recovered")
    back = await joins.take(incident("disconnect-2", kind="disconnect", start=1_800_000), REOPEN)
    assert (back.created, back.fresh, back.case.case_id) == (False, True, first.case_id)
    assert (back.case.state, back.case.outcome, back.case.incident_ended_at) == ("open", None, None)
    assert (await joins.open_for_student("stu-1")) == back.case
    kinds = [e.kind for e in await store.timeline(first.case_id)]
    assert kinds[-3:] == ["state", "reopened", "incident_joined"]
    assert [i.incident_id for i in await joins.incidents(first.case_id)] == [
        "lag-1", "disconnect-2"]
    redelivered = await joins.take(incident("disconnect-2", kind="disconnect",
                                            start=1_800_000), REOPEN)  # fmt: skip
    assert (redelivered.fresh, redelivered.case.case_id) == (False, first.case_id)
    # Closed again, a problem past the window opens a case of its own.
    await joins.update(incident("disconnect-2", kind="disconnect", state="closed",
                                start=1_800_000, ended=1_860_000))  # fmt: skip
    await store.close(first.case_id, "self_recovered")
    later = await joins.take(incident("lag-3", start=1_860_000 + 1_800_000 - 5_000), REOPEN)
    assert later.created and later.case.case_id == case_id_for("lag-3")


async def test_without_family_cases_a_closed_case_stays_closed(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    store = CaseStore(case_engine)
    joins = CaseJoins(store)
    first = (await joins.take(incident("lag-1", state="closed", ended=9_000), REOPEN)).case
    await store.close(first.case_id, "self_recovered")
    later = await joins.take(incident("lag-2", start=60_000), {**REOPEN, "family_cases": False})
    assert later.created and (await store.get(first.case_id)).state == "closed"  # type: ignore[union-attr]


async def test_incidents_of_one_family_at_once_reopen_one_case(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    store = CaseStore(case_engine)
    first = (await CaseJoins(store).take(incident("lag-1", state="closed", ended=9_000),
                                         REOPEN)).case  # fmt: skip
    await store.close(first.case_id, "self_recovered")
    joins = CaseJoins(store)
    incidents = [incident(f"lag-{n}", start=600_000 + n) for n in range(2, 8)]
    taken = await asyncio.gather(*(joins.take(inc, REOPEN) for inc in incidents * 2))
    assert {t.case.case_id for t in taken} == {first.case_id}
    assert sum(t.created for t in taken) == 0 and sum(t.fresh for t in taken) == 6
    reopened = [e for e in await store.timeline(first.case_id) if e.kind == "reopened"]
    assert len(reopened) == 1


async def test_line_incidents_keep_cases_of_their_own(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    joins = CaseJoins(CaseStore(case_engine))
    a = await joins.take(incident("line-a", student=None, kind="line"), {})
    b = await joins.take(incident("line-b", student=None, kind="line"), {})
    assert a.created and b.created and a.case.case_id != b.case.case_id


async def test_the_database_itself_refuses_a_second_open_case_of_a_student(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    await CaseJoins(CaseStore(case_engine)).take(incident("lag-1"), {})
    row = {
        "case_id": "case-sneaky", "incident_id": "lag-sneaky", "kind": "lag",
        "student_id": "stu-1", "state": "contacting", "policy": {}, "attempts": 0,
        "incident_started_at": 1, "opened_at": 1, "updated_at": 1,
    }  # fmt: skip
    with pytest.raises(IntegrityError):
        async with case_engine.begin() as conn:
            await conn.execute(cases.insert().values(**row))
    async with case_engine.begin() as conn:  # closed cases of the student are not limited
        await conn.execute(cases.insert().values(**{**row, "state": "closed"}))


async def test_incidents_of_one_family_at_once_make_one_case(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    joins = CaseJoins(CaseStore(case_engine))
    incidents = [incident(f"lag-{n}", start=1_000 + n) for n in range(8)]
    taken = await asyncio.gather(*(joins.take(inc, {}) for inc in incidents * 2))
    assert len({t.case.case_id for t in taken}) == 1
    assert sum(t.created for t in taken) == 1 and sum(t.fresh for t in taken) == 8
    assert len(await joins.incidents(taken[0].case.case_id)) == 8


@pytest.mark.postgres
async def test_two_replicas_racing_on_postgres_make_one_case_per_family() -> None:
    async with postgres_engines(2) as engines:
        replicas = [CaseJoins(CaseStore(engine)) for engine in engines]
        for round_ in range(5):
            student = f"stu-race-{round_}"
            jobs = [
                replicas[n % 2].take(incident(f"lag-{round_}-{n % 3}", student=student), {})
                for n in range(6)  # each incident reaches both replicas (a redelivery)
            ]
            taken = await asyncio.gather(*jobs)
            assert len({t.case.case_id for t in taken}) == 1
            assert sum(t.created for t in taken) == 1 and sum(t.fresh for t in taken) == 3
        async with engines[0].connect() as conn:
            counts = (await conn.execute(
                sa.select(cases.c.student_id, sa.func.count()).group_by(cases.c.student_id)
            )).all()  # fmt: skip
        assert sorted(n for _, n in counts) == [1] * 5


@pytest.mark.postgres
async def test_two_replicas_racing_on_postgres_reopen_one_case_per_family() -> None:
    async with postgres_engines(2) as engines:
        replicas = [CaseJoins(CaseStore(engine)) for engine in engines]
        for round_ in range(5):
            student = f"stu-race-{round_}"
            done = await replicas[0].take(incident(f"lag-{round_}-x", student=student,
                                                   state="closed", ended=9_000), REOPEN)
            await replicas[0].store.close(done.case.case_id, "self_recovered")
            jobs = [
                replicas[n % 2].take(
                    incident(f"lag-{round_}-{n % 3}", student=student, start=600_000), REOPEN)
                for n in range(6)  # each incident reaches both replicas (a redelivery)
            ]  # fmt: skip
            taken = await asyncio.gather(*jobs)
            assert {t.case.case_id for t in taken} == {done.case.case_id}
            assert sum(t.created for t in taken) == 0 and sum(t.fresh for t in taken) == 3
        async with engines[0].connect() as conn:
            counts = (await conn.execute(
                sa.select(cases.c.student_id, sa.func.count()).group_by(cases.c.student_id)
            )).all()  # fmt: skip
        assert sorted(n for _, n in counts) == [1] * 5
