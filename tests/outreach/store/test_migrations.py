"""The Alembic migrations build exactly the tables the code declares, on SQLite and PostgreSQL.

A column added to a table of `outreach.store.models` (case store or desk) without a
migration fails here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.store.db import alembic_config, head_revision, make_engine, upgrade
from outreach.store.models import (
    case_incidents,
    cases,
    metadata,
    queue_entries,
    session_context,
    web_users,
)
from tests.support.casedb import postgres_engines

DESK_TABLES = {"queue_entries", "session_context", "web_users"}
CASE_TABLES = {"cases", "case_events", "chat_outbox", "students", "guardians"}
SMS_TABLES = {"sms_opt_outs", "sms_consent"}
FAMILY_TABLES = {"case_incidents", "line_children"}  # 0006, 0008
GOODWILL_TABLES = {"goodwill_offers", "goodwill_hooks"}
LINE_TABLES = {"incident_records", "waiting_decisions"}  # 0009: records once, waiting decisions
FOLLOWUP_TABLES = {"followups"}  # 0010


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def empty_engine(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AsyncEngine]:
    """An empty database: a new SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        engine = make_engine(str(tmp_path / "empty.db"))
        yield engine
        await engine.dispose()
        return
    async with postgres_engines(1, migrated=False) as (engine,):
        yield engine


def _diff(conn: Connection, declared: sa.MetaData = metadata) -> list[Any]:
    ctx = MigrationContext.configure(
        conn, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(ctx, declared))


async def differences(engine: AsyncEngine, declared: sa.MetaData = metadata) -> list[Any]:
    """What autogenerate would still have to change for the database to match `declared`."""
    async with engine.connect() as conn:
        return await conn.run_sync(_diff, declared)


async def tables(engine: AsyncEngine) -> set[str]:
    """The tables in the database (Alembic's own left out)."""
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
    return set(names) - {"alembic_version"}


async def version(engine: AsyncEngine) -> list[str]:
    """The revision(s) the database is at."""
    async with engine.connect() as conn:
        rows = (await conn.exec_driver_sql("select version_num from alembic_version")).all()
    return [r[0] for r in rows]


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Run the migrations down to `revision`."""

    def run(conn: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def test_upgrade_head_builds_exactly_what_the_models_declare(
    empty_engine: AsyncEngine,
) -> None:
    await upgrade(empty_engine, "head")
    assert await differences(empty_engine) == []
    built = (CASE_TABLES | DESK_TABLES | SMS_TABLES | FAMILY_TABLES | GOODWILL_TABLES
             | LINE_TABLES | FOLLOWUP_TABLES)
    assert await tables(empty_engine) == built
    assert await version(empty_engine) == [head_revision()]
    await upgrade(empty_engine, "head")  # a second upgrade is a no-op
    assert await version(empty_engine) == [head_revision()]


async def test_a_model_column_without_a_migration_is_a_difference(
    empty_engine: AsyncEngine,
) -> None:
    await upgrade(empty_engine, "head")
    declared = sa.MetaData()
    for table in metadata.tables.values():
        table.to_metadata(declared)
    declared.tables["queue_entries"].append_column(sa.Column("priority", sa.Integer()))
    diff = await differences(empty_engine, declared)
    assert [(d[0], d[2], d[3].name) for d in diff] == [("add_column", "queue_entries", "priority")]


async def test_downgrade_and_upgrade_again(empty_engine: AsyncEngine) -> None:
    await upgrade(empty_engine, "head")
    await downgrade(empty_engine, "0001")
    assert await tables(empty_engine) == CASE_TABLES
    await downgrade(empty_engine, "base")
    assert await tables(empty_engine) == set()
    await upgrade(empty_engine, "head")
    assert await differences(empty_engine) == []


async def test_a_desk_that_made_its_own_tables_upgrades_keeping_its_rows(
    empty_engine: AsyncEngine,
) -> None:
    # Before revision 0002 the desk created its tables itself (create_all) next to 0001.
    await upgrade(empty_engine, "0001")
    async with empty_engine.begin() as conn:
        await conn.run_sync(metadata.create_all, tables=[queue_entries, session_context])
        # web_users as the desk made it then: no expiry, no last use (revision 0005 adds them)
        old_users = sa.Table("web_users", sa.MetaData(), *[
            sa.Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable,
                      unique=c.unique)
            for c in web_users.columns if c.name not in ("expires_at", "last_used_at")])
        await conn.run_sync(old_users.create)
        await conn.execute(old_users.insert().values(
            name="alice", role="agent", token_id="t1", salt="s", token_hash="h", created_at=1))
        await conn.execute(queue_entries.insert().values(
            case_id="case-1", kind="lag", reason="r", queued_at=1, problem_started_at=1))
    await upgrade(empty_engine, "head")
    assert await differences(empty_engine) == []
    assert await version(empty_engine) == [head_revision()]
    async with empty_engine.connect() as conn:
        assert (await conn.execute(sa.select(web_users.c.name, web_users.c.expires_at))).all(
        ) == [("alice", 1 + 30 * 86_400_000)]  # a token from before expires 30 days after issue
        assert (await conn.execute(sa.select(queue_entries.c.case_id))).scalars().all() == [
            "case-1"
        ]


async def test_a_1_0_database_with_two_open_cases_of_a_student_upgrades(
    empty_engine: AsyncEngine,
) -> None:
    # Before 0006 every incident had a case: one student could have several open ones.
    await upgrade(empty_engine, "0004_sms_consent")
    row = {"kind": "lag", "student_id": "stu-1", "state": "open", "policy": {}, "attempts": 0,
           "incident_started_at": 1, "updated_at": 5}  # fmt: skip
    async with empty_engine.begin() as conn:
        for n, opened in ((1, 1), (2, 3), (3, 2)):
            await conn.execute(cases.insert().values(
                case_id=f"case-{n}", incident_id=f"lag-{n}", opened_at=opened, **row))
        await conn.execute(cases.insert().values(
            case_id="case-9", incident_id="lag-9", opened_at=1, **{**row, "student_id": "stu-9"}))
    await upgrade(empty_engine, "head")
    async with empty_engine.connect() as conn:
        found = (await conn.execute(
            sa.select(cases.c.case_id, cases.c.state, cases.c.outcome).order_by(cases.c.case_id)
        )).all()  # fmt: skip
        joined = (await conn.execute(sa.select(case_incidents.c.incident_id))).scalars().all()
    assert [tuple(r) for r in found] == [
        ("case-1", "closed", "escalated"), ("case-2", "open", None),
        ("case-3", "closed", "escalated"), ("case-9", "open", None),
    ]
    assert sorted(joined) == ["lag-1", "lag-2", "lag-3", "lag-9"]
