"""How the engine connects to PostgreSQL: a pool that keeps its connections through a burst,
a prepared statement cache the app's statements fit in, no SSL attempt on this machine unless
asked for."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from outreach.store.db import PoolSettings, connect_args_for, make_engine, normalize_dsn
from tests.support.casedb import PG_DSN, RoundTrips

PG = normalize_dsn("postgresql://app@db.example.org:5432/cases")
DEFAULTS = PoolSettings()


def args(dsn: str, env: dict[str, str] | None = None) -> dict[str, object]:
    return connect_args_for(normalize_dsn(dsn), schema=None, pool=DEFAULTS, env=env or {})


@pytest.mark.parametrize("dsn", [
    "postgresql://postgres@127.0.0.1:5432/test",
    "postgresql://postgres@localhost/test",
    "postgresql://postgres@[::1]:5432/test",
    "postgresql:///test",  # asyncpg's default: the local socket
    "postgresql:///test?host=/var/run/postgresql",
])  # fmt: skip
def test_a_server_on_this_machine_is_reached_without_an_ssl_attempt(dsn: str) -> None:
    assert args(dsn)["ssl"] is False


@pytest.mark.parametrize(("dsn", "env"), [
    ("postgresql://app@db.example.org/cases", {}),
    ("postgresql://app@10.0.0.7/cases", {}),
    ("postgresql:///cases", {"PGHOST": "db.example.org"}),
    ("postgresql://postgres@127.0.0.1/test?sslmode=require", {}),
    ("postgresql://postgres@127.0.0.1/test", {"PGSSLMODE": "verify-full"}),
])  # fmt: skip
def test_ssl_is_left_to_asyncpg_elsewhere_or_when_asked_for(dsn: str, env: dict[str, str]) -> None:
    assert "ssl" not in args(dsn, env)


def test_each_connection_keeps_more_prepared_statements_than_the_drivers_default() -> None:
    assert args(PG)["prepared_statement_cache_size"] == DEFAULTS.statement_cache >= 500
    small = connect_args_for(PG, schema="s1", pool=PoolSettings(2, 0, 50), env={})
    assert small["prepared_statement_cache_size"] == 50
    assert small["server_settings"] == {"search_path": "s1"}


def test_sqlite_is_not_given_postgresql_arguments() -> None:
    assert connect_args_for(normalize_dsn("cases.db"), schema=None, pool=DEFAULTS) == {
        "timeout": 30}


async def test_an_engine_keeps_its_pools_connections_as_set() -> None:
    default, small = make_engine(PG), make_engine(PG, pool=PoolSettings(size=3, overflow=1))
    try:
        assert default.sync_engine.pool.size() == DEFAULTS.size  # type: ignore[attr-defined]
        assert small.sync_engine.pool.size() == 3  # type: ignore[attr-defined]
    finally:
        await default.dispose()
        await small.dispose()


@pytest.mark.postgres
async def test_a_burst_within_the_pool_opens_no_connection_the_next_time() -> None:
    engine = make_engine(PG_DSN, pool=PoolSettings(size=8, overflow=2))
    counted = RoundTrips(engine)

    async def one() -> None:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT pg_sleep(0.05)"))

    try:
        await asyncio.gather(*(one() for _ in range(8)))
        first = counted.connects
        await asyncio.gather(*(one() for _ in range(8)))
        assert (first, counted.connects) == (8, 8)  # all eight kept: none opened again
        await asyncio.gather(*(one() for _ in range(10)))
        assert counted.connects == 10  # two beyond the pool: opened, then closed on return
        await asyncio.gather(*(one() for _ in range(10)))
        assert counted.connects == 12
    finally:
        counted.close()
        await engine.dispose()
