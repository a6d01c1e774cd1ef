"""`firstcall db upgrade [--db DSN] [--revision REV]`: bring the case database up to date."""

from __future__ import annotations

import argparse
import asyncio

from monitor.platform.settings import DatabaseSection, database_dsn, env_name
from outreach.store.db import make_engine, upgrade

DB_ENV = env_name("database", "dsn")  # FIRSTCALL_DB


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `db` subcommand's arguments to `parser`."""
    sub = parser.add_subparsers(dest="db_command", required=True)
    up = sub.add_parser("upgrade", help="run the case database migrations")
    up.add_argument(
        "--db",
        default=database_dsn(),
        help=f"database DSN or SQLite path (default: ${DB_ENV} or "
        f"{DatabaseSection.defaults().dsn})",
    )
    up.add_argument("--revision", default="head", help="target revision (default: head)")


async def _upgrade(dsn: str, revision: str) -> None:
    engine = make_engine(dsn)
    try:
        await upgrade(engine, revision)
    finally:
        await engine.dispose()


def run(args: argparse.Namespace) -> int:
    """Run the subcommand; 0 on success."""
    asyncio.run(_upgrade(args.db, args.revision))
    print(f"case database at {args.revision}")
    return 0
