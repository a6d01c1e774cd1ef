"""`firstcall user add NAME --role agent|ops|viewer` (prints the token once), `list`, `remove`."""

from __future__ import annotations

import argparse
import asyncio
import sys

from monitor.platform.settings import DatabaseSection, database_dsn, env_name
from outreach.store.db import open_database
from outreach.store.users import ROLES, UserStore

DB_ENV = env_name("database", "dsn")  # FIRSTCALL_DB


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `firstcall user`."""
    parser.add_argument("--db", default=database_dsn(),
                        help=f"database DSN or SQLite path (default: ${DB_ENV} or "
                             f"{DatabaseSection.defaults().dsn})")
    sub = parser.add_subparsers(dest="user_command", required=True)
    add = sub.add_parser("add", help="create a user (or issue a new token); prints the token once")
    add.add_argument("name", help="user name, e.g. alice")
    add.add_argument("--role", required=True, choices=ROLES,
                     help="agent: works the call queue; ops: dashboard and reports; "
                          "viewer: dashboard and reports, read only")
    sub.add_parser("list", help="list users and roles")
    rm = sub.add_parser("remove", help="delete a user; their token stops working")
    rm.add_argument("name")


async def _run(args: argparse.Namespace) -> int:
    engine = await open_database(args.db)
    try:
        users = UserStore(engine)
        if args.user_command == "add":
            try:
                token = await users.add(args.name, args.role)
            except ValueError as exc:
                print(f"firstcall user: {exc}", file=sys.stderr)
                return 2
            print(token)
            print(f"user {args.name} ({args.role}) created; the token above is shown only once, "
                  "keep it safe", file=sys.stderr)
            return 0
        if args.user_command == "list":
            for u in await users.list():
                print(f"{u.name}\t{u.role}")
            return 0
        if not await users.remove(args.name):
            print(f"firstcall user: no user {args.name!r}", file=sys.stderr)
            return 1
        return 0
    finally:
        await engine.dispose()


def run(args: argparse.Namespace) -> int:
    """Run `firstcall user ...`."""
    return asyncio.run(_run(args))
