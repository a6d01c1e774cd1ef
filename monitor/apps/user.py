"""`firstcall user add NAME --role agent|ops|viewer` (prints the token once), `list`, `remove`.

Tokens expire `[api] token_days` after they are issued (FIRSTCALL_API_TOKEN_DAYS, 30);
`remove` stops a user's token at once, and `firstcall serve` closes their open consoles
within seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime

from monitor.platform.settings import (
    ApiSection,
    ConfigError,
    DatabaseSection,
    config_path,
    database_dsn,
    env_name,
    load_settings,
)
from outreach.store.db import open_database
from outreach.store.users import DAY_MS, ROLES, UserInfo, UserStore

DB_ENV = env_name("database", "dsn")  # FIRSTCALL_DB
DAYS_ENV = env_name("api", "token_days")  # FIRSTCALL_API_TOKEN_DAYS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `firstcall user`."""
    parser.add_argument("--config", default=config_path(),
                        help="config file (default $FIRSTCALL_CONFIG): [api] token_days")
    parser.add_argument("--db", default=database_dsn(),
                        help=f"database DSN or SQLite path (default: ${DB_ENV} or "
                             f"{DatabaseSection.defaults().dsn})")
    sub = parser.add_subparsers(dest="user_command", required=True)
    add = sub.add_parser("add", help="create a user (or issue a new token); prints the token once")
    add.add_argument("name", help="user name, e.g. alice")
    add.add_argument("--role", required=True, choices=ROLES,
                     help="agent: works the call queue; ops: dashboard and reports; "
                          "viewer: dashboard and reports, read only")
    add.add_argument("--days", type=int, default=None,
                     help=f"the token expires after this many days (default: [api] token_days, "
                          f"${DAYS_ENV})")
    sub.add_parser("list", help="list users: role, token expiry and last use (UTC)")
    rm = sub.add_parser("remove", help="delete a user; their token stops working and their "
                                       "open consoles are closed")
    rm.add_argument("name")


def _when(ms: int | None) -> str:
    if ms is None:
        return "never"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def list_line(u: UserInfo) -> str:
    """One row of `firstcall user list`: name, role, expiry, last use (tab separated)."""
    return f"{u.name}\t{u.role}\texpires {_when(u.expires_at)}\tlast used {_when(u.last_used_at)}"


async def _run(args: argparse.Namespace, days: int) -> int:
    engine = await open_database(args.db)
    try:
        users = UserStore(engine, token_ttl_ms=days * DAY_MS)
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
                print(list_line(u))
            return 0
        if not await users.remove(args.name):
            print(f"firstcall user: no user {args.name!r}", file=sys.stderr)
            return 1
        return 0
    finally:
        await engine.dispose()


def run(args: argparse.Namespace) -> int:
    """Run `firstcall user ...`."""
    days = getattr(args, "days", None)
    if days is None and args.user_command == "add":
        try:
            days = load_settings(args.config).api.token_days
        except ConfigError as exc:
            print(f"firstcall user: {exc}", file=sys.stderr)
            return 2
    if days is None:
        days = ApiSection.defaults().token_days  # list and remove issue no token
    if days < 1:
        print("firstcall user: --days must be at least 1", file=sys.stderr)
        return 2
    return asyncio.run(_run(args, days))
