"""Case store on SQLite and PostgreSQL: idempotent open, owner, transitions, outcomes."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident, case_id_for
from monitor.apps import db as db_cli
from outreach.decide.case_states import Refusal
from outreach.store.cases import CaseStore
from outreach.store.db import head_revision, make_engine, upgrade
from outreach.store.models import metadata
from tests.support.casedb import case_engine, postgres_engines  # noqa: F401

POLICY = {"hold_off_s": 20, "quiet_hours": ["21:00", "08:00"], "version": 3}


def incident(state: str = "open", ended_at: int | None = None, iid: str = "lag-abc123") -> Incident:
    return Incident(
        incident_id=iid,
        kind="lag",
        state=state,  # type: ignore[arg-type]
        started_at=1_000_000,
        detected_at=1_006_000,
        ended_at=ended_at,
        line={"edge": "sfu-1", "isp": "cm", "region": "sh"},
        evidence={"degraded": 3},
        session_id="sess-1",
        student_id="stu-1",
        classroom_id="room-1",
    )


def clock(start: int = 2_000_000) -> Any:
    t = [start]

    def now() -> int:
        t[0] += 1000
        return t[0]

    return now


async def test_migrations_match_the_models(case_engine: AsyncEngine) -> None:  # noqa: F811
    def diff(conn: Connection) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))

    async with case_engine.connect() as conn:
        assert await conn.run_sync(diff) == []
    await upgrade(case_engine)  # a second upgrade is a no-op


async def test_open_is_idempotent_and_freezes_policy(case_engine: AsyncEngine) -> None:  # noqa: F811
    store = CaseStore(case_engine, clock())
    first = await store.open_case(incident(), POLICY)
    again = await store.open_case(incident(), {"hold_off_s": 99})
    assert first.created and not again.created
    assert first.case.case_id == again.case.case_id == case_id_for("lag-abc123")
    assert again.case.policy == POLICY
    assert first.case.state == "open"
    assert [e.kind for e in await store.timeline(first.case.case_id)] == ["opened"]


async def test_concurrent_opens_give_one_case(case_engine: AsyncEngine) -> None:  # noqa: F811
    store = CaseStore(case_engine, clock())
    results = await asyncio.gather(*(store.open_case(incident(), POLICY) for _ in range(8)))
    assert sum(r.created for r in results) == 1
    assert len({r.case.case_id for r in results}) == 1
    assert len(await store.timeline(results[0].case.case_id)) == 1


@pytest.mark.postgres
async def test_replicas_opening_one_case_at_once_on_postgres_give_one_case() -> None:
    # Openers that arrive together (pooled connections already open: no connect staggers
    # them) all pass PostgreSQL's look-up before any row is in; a loser's insert then meets
    # the winner's row on the case id too. Before the fix about one round in six raised a
    # `cases_pkey` violation. (SQLite writes one at a time: the spec above covers it.)
    async with postgres_engines(2) as engines:
        replicas = [CaseStore(engine, clock()) for engine in engines]
        for n in range(40):
            inc = replace(incident(iid=f"lag-race{n}"), student_id=f"stu-race{n}")
            results = await asyncio.gather(
                *(replicas[k % 2].open_case(inc, POLICY) for k in range(8))
            )
            assert sum(r.created for r in results) == 1, n
            case_id = case_id_for(inc.incident_id)
            assert {r.case.case_id for r in results} == {case_id}
            assert [e.kind for e in await replicas[0].timeline(case_id)] == ["opened"]


async def test_incident_updates_go_on_the_timeline(case_engine: AsyncEngine) -> None:  # noqa: F811
    store = CaseStore(case_engine, clock())
    await store.record_incident(incident(), POLICY)
    await store.record_incident(incident("update"), POLICY)
    case = await store.record_incident(incident("closed", ended_at=1_180_000), POLICY)
    assert case.incident_ended_at == 1_180_000
    kinds = [e.kind for e in await store.timeline(case.case_id)]
    assert kinds == ["opened", "incident_update", "incident_closed"]


async def test_one_owner_at_a_time(case_engine: AsyncEngine) -> None:  # noqa: F811
    store = CaseStore(case_engine, clock())
    cid = (await store.open_case(incident(), POLICY)).case.case_id
    assert await store.claim(cid, "agent:li") is None
    assert await store.claim(cid, "agent:li") is None  # re-claim by the owner is fine
    refused = await store.claim(cid, "agent:wang")
    assert isinstance(refused, Refusal) and refused.reason == "owned_by_other"
    moved = await store.transition(cid, "waiting_agent", by_owner="agent:wang")
    assert isinstance(moved, Refusal) and moved.reason == "owned_by_other"
    assert (await store.release(cid, "agent:wang")).reason == "not_owner"  # type: ignore[union-attr]
    assert await store.release(cid, "agent:li") is None
    assert await store.claim(cid, "agent:wang") is None
    assert (await store.claim("case-nope", "x")).reason == "no_such_case"  # type: ignore[union-attr]


async def test_concurrent_claims_have_one_winner(case_engine: AsyncEngine) -> None:  # noqa: F811
    store = CaseStore(case_engine, clock())
    cid = (await store.open_case(incident(), POLICY)).case.case_id
    results = await asyncio.gather(*(store.claim(cid, f"agent:{i}") for i in range(6)))
    assert sum(r is None for r in results) == 1


async def test_transitions_and_outcome(case_engine: AsyncEngine) -> None:  # noqa: F811
    store = CaseStore(case_engine, clock())
    cid = (await store.open_case(incident(), POLICY)).case.case_id
    case = await store.transition(cid, "contacting", reason="lag")
    assert not isinstance(case, Refusal) and case.state == "contacting"
    assert await store.record_attempt(cid, "call", {"provider_id": "CA1"}) is None
    needs = await store.transition(cid, "resolved")
    assert isinstance(needs, Refusal) and needs.reason == "outcome_required"
    resolved = await store.transition(cid, "resolved", outcome="resolved_by_call")
    assert not isinstance(resolved, Refusal) and resolved.outcome == "resolved_by_call"
    bad = await store.transition(cid, "contacting")
    assert isinstance(bad, Refusal) and bad.reason == "transition_not_allowed"
    record = await store.close(cid, minutes_lost=2.5)
    assert not isinstance(record, Refusal)
    assert record.to_dict() == {
        "record": "outcome",
        "case_id": cid,
        "incident_id": "lag-abc123",
        "session_id": "sess-1",
        "student_id": "stu-1",
        "outcome": "resolved_by_call",
        "lesson_minutes_lost": 2.5,
        "opened_at": record.opened_at,
        "closed_at": record.closed_at,
        "attempts": 1,
    }
    again = await store.close(cid, "no_answer")
    assert isinstance(again, Refusal) and again.reason == "case_closed"
    assert (await store.record_attempt(cid, "sms")).reason == "case_closed"  # type: ignore[union-attr]
    kinds = [e.kind for e in await store.timeline(cid)]
    assert kinds == ["opened", "state", "attempt", "state", "state"]


async def test_close_computes_minutes_lost_from_the_incident(case_engine: AsyncEngine) -> None:  # noqa: F811
    store = CaseStore(case_engine, clock())
    await store.record_incident(incident(), POLICY)
    case = await store.record_incident(incident("closed", ended_at=1_000_000 + 150_000), POLICY)
    record = await store.close(case.case_id, "self_recovered", reason="recovered_in_hold_off")
    assert not isinstance(record, Refusal)
    assert record.lesson_minutes_lost == 2.5
    assert (await store.close(case.case_id, "bogus")).reason in {"unknown_outcome"}  # type: ignore[arg-type, union-attr]


async def test_events_and_active_cases(case_engine: AsyncEngine) -> None:  # noqa: F811
    store = CaseStore(case_engine, clock())
    b = (await store.open_case(incident(iid="lag-b"), POLICY)).case.case_id
    await store.close(b, "do_not_contact")
    a = (await store.open_case(incident(iid="lag-a"), POLICY)).case.case_id
    assert await store.add_event(a, "reply", {"text": "好了"}, actor="family") is None
    assert (await store.add_event("case-x", "reply")).reason == "no_such_case"  # type: ignore[union-attr]
    assert [c.case_id for c in await store.active_for_student("stu-1")] == [a]
    events = await store.timeline(a)
    assert events[-1].data == {"text": "好了"} and events[-1].actor == "family"


def test_db_upgrade_cli(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    db_cli.add_arguments(parser)
    path = tmp_path / "cli.db"
    assert db_cli.run(parser.parse_args(["upgrade", "--db", str(path)])) == 0
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
        version = conn.execute("select version_num from alembic_version").fetchone()
    assert {"cases", "case_events", "chat_outbox", "students", "guardians"} <= tables
    assert version == (head_revision(),)
    assert db_cli.run(parser.parse_args(["upgrade", "--db", str(path)])) == 0  # idempotent


async def test_concurrent_upgrades_of_a_fresh_database(tmp_path: Path) -> None:
    engines = [make_engine(str(tmp_path / "fresh.db")) for _ in range(3)]
    try:
        await asyncio.gather(*(upgrade(e) for e in engines))
        async with engines[0].connect() as conn:
            version = (await conn.exec_driver_sql("select version_num from alembic_version")).all()
        assert [tuple(r) for r in version] == [(head_revision(),)]
    finally:
        for e in engines:
            await e.dispose()


@pytest.mark.postgres
async def test_concurrent_upgrades_of_a_fresh_postgres_schema() -> None:
    async with postgres_engines(3, migrated=False) as engines:
        await asyncio.gather(*(upgrade(e) for e in engines))
        store = CaseStore(engines[1])
        assert (await store.open_case(incident(), POLICY)).created
