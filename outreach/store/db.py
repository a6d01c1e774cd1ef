"""Opening the case database (SQLite by default, PostgreSQL by DSN) and migrating it."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

DEFAULT_DSN = "sqlite+aiosqlite:///firstcall.db"


def normalize_dsn(dsn: str) -> str:
    """An async SQLAlchemy URL from a DSN, a `sqlite:` URL or a plain file path."""
    if dsn.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + dsn.split("://", 1)[1]
    if dsn.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + dsn[len("sqlite://") :]
    if "://" not in dsn:
        return f"sqlite+aiosqlite:///{dsn}"
    return dsn


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@dataclass(frozen=True, slots=True)
class PoolSettings:
    """PostgreSQL connections of one engine: how many it keeps open (`size`), how many more a
    burst may open (`overflow`, each closed again when returned), and how many prepared
    statements each connection keeps (`statement_cache`; a statement not kept is prepared
    again: one more round trip)."""

    size: int = 15
    overflow: int = 5
    statement_cache: int = 500


def _local(url: URL, env: Mapping[str, str]) -> bool:
    """Does this PostgreSQL URL reach the server on this machine (loopback or unix socket)?"""
    if "host" in url.query:  # hosts given as query parameters (several, or a socket dir)
        hosts = url.query["host"]
        named = [hosts] if isinstance(hosts, str) else list(hosts)
    else:
        named = [url.host or env.get("PGHOST", "")]
    return all(_loopback(h) for h in named)


def _loopback(host: str) -> bool:
    if not host or host.startswith("/") or host == "localhost":
        return True  # asyncpg's default: the local socket (then localhost)
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def connect_args_for(
    url: str, *, schema: str | None, pool: PoolSettings, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """What the driver is given on each new connection (`env`: the environment, os.environ).

    PostgreSQL: the search path (`schema`), the prepared statement cache's size, and no SSL
    attempt to a server on this machine when the DSN and PGSSLMODE name no SSL mode
    (asyncpg's default `prefer` would try SSL first on every new connection).
    """
    env = os.environ if env is None else env
    if url.startswith("sqlite"):
        return {"timeout": 30}
    if not url.startswith("postgresql+asyncpg"):
        return {}
    args: dict[str, Any] = {"prepared_statement_cache_size": pool.statement_cache}
    if schema:
        args["server_settings"] = {"search_path": schema}
    parsed = make_url(url)
    ssl_named = bool({"ssl", "sslmode"} & set(parsed.query)) or "PGSSLMODE" in env
    if not ssl_named and _local(parsed, env):
        args["ssl"] = False
    return args


def make_engine(
    dsn: str = DEFAULT_DSN, *, schema: str | None = None, pool: PoolSettings | None = None
) -> AsyncEngine:
    """An async engine; `schema` sets PostgreSQL's search_path (e.g. one schema per test run);
    `pool` its connections (PostgreSQL; SQLite keeps SQLAlchemy's defaults)."""
    url = normalize_dsn(dsn)
    pool = pool or PoolSettings()
    connect_args = connect_args_for(url, schema=schema, pool=pool)
    if url.startswith("postgresql"):
        engine = create_async_engine(url, connect_args=connect_args, pool_size=pool.size,
                                     max_overflow=pool.overflow)
    else:
        engine = create_async_engine(url, connect_args=connect_args)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def migrations_dir() -> Path:
    """Where the shipped Alembic environment lives (works from an installed package)."""
    return Path(str(resources.files("outreach.store") / "migrations"))


def alembic_config() -> Config:
    """An Alembic config pointing at the shipped migrations (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    return cfg


def head_revision() -> str:
    """The newest revision of the shipped migrations (what `upgrade head` reaches)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


# Any fixed number: serializes concurrent upgrades (several workers starting at once).
MIGRATION_LOCK_KEY = 0x46435F4442  # "FC_DB"


def _upgrade_sync(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


# Alembic keeps its migration context in module globals: one upgrade at a time per loop.
_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Run the migrations up to `revision` on `engine` (idempotent, safe to run concurrently)."""
    lock = _LOCKS.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock, engine.begin() as conn:
        await conn.run_sync(_upgrade_sync, revision)


async def open_database(
    dsn: str = DEFAULT_DSN, *, schema: str | None = None, migrate: bool = True,
    pool: PoolSettings | None = None,
) -> AsyncEngine:
    """Open the case database and bring its schema up to date (for startup / `db upgrade`)."""
    engine = make_engine(dsn, schema=schema, pool=pool)
    if migrate:
        await upgrade(engine)
    return engine
