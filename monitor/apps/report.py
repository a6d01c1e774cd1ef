"""`firstcall report --since 7d --by classroom|teacher|device|app_version|line`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from monitor.platform.settings import DatabaseSection, database_dsn, env_name
from monitor.report_format import csv_text, family_text, parse_since, table_text
from outreach.decide.clock import now_ms
from outreach.store.db import open_database
from outreach.store.family_reports import build_family_report
from outreach.store.reports import GROUPS, build_report

DB_ENV = env_name("database", "dsn")  # FIRSTCALL_DB


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `firstcall report`."""
    parser.add_argument("--since", default="24h",
                        help="start of the period: 90m, 2h, 7d ago, an ISO date, or epoch ms "
                             "(default 24h)")
    parser.add_argument("--until", default=None, help="end of the period (same forms; default now)")
    parser.add_argument("--by", default="classroom", choices=GROUPS, help="group by (default "
                        "classroom)")
    parser.add_argument("--families", action="store_true",
                        help="by family instead: contacts per family, recurring families (top "
                             "20 by lesson minutes lost), escalations by reason (table or json)")
    parser.add_argument("--format", default="table", choices=("table", "csv", "json"))
    parser.add_argument("-o", "--out", type=Path, default=None, help="write here (default stdout)")
    parser.add_argument("--db", default=database_dsn(),
                        help=f"database DSN or SQLite path (default: ${DB_ENV} or "
                             f"{DatabaseSection.defaults().dsn})")


async def _build(args: argparse.Namespace, since: int, until: int | None, now: int) -> str:
    engine = await open_database(args.db)
    try:
        if getattr(args, "families", False):
            found = await build_family_report(engine, since, now, until)
            if args.format == "json":
                return json.dumps(found.to_dict(), indent=2) + "\n"
            return family_text(found)
        rows = await build_report(engine, args.by, since, now, until)
    finally:
        await engine.dispose()
    if args.format == "csv":
        return csv_text(rows, args.by)
    if args.format == "json":
        return json.dumps([r.to_dict() for r in rows], indent=2) + "\n"
    return table_text(rows, args.by)


def run(args: argparse.Namespace) -> int:
    """Print (or write) the report."""
    now = now_ms()
    try:
        since = parse_since(args.since, now)
        until = parse_since(args.until, now) if args.until else None
    except ValueError as exc:
        print(f"firstcall report: {exc}", file=sys.stderr)
        return 2
    text = asyncio.run(_build(args, since, until, now))
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
