"""Opening the case database (SQLite by default, PostgreSQL by DSN) and migrating it."""

from __future__ import annotations

import asyncio
import weakref
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event
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


def make_engine(dsn: str = DEFAULT_DSN, *, schema: str | None = None) -> AsyncEngine:
    """An async engine; `schema` sets PostgreSQL's search_path (e.g. one schema per test run)."""
    url = normalize_dsn(dsn)
    connect_args: dict[str, Any] = {}
    if url.startswith("postgresql+asyncpg") and schema:
        connect_args["server_settings"] = {"search_path": schema}
    if url.startswith("sqlite"):
        connect_args["timeout"] = 30
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
    dsn: str = DEFAULT_DSN, *, schema: str | None = None, migrate: bool = True
) -> AsyncEngine:
    """Open the case database and bring its schema up to date (for startup / `db upgrade`)."""
    engine = make_engine(dsn, schema=schema)
    if migrate:
        await upgrade(engine)
    return engine
