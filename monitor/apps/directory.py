"""`firstcall directory import FILE [--partial] [--db DSN]`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from monitor.platform.settings import DatabaseSection, database_dsn, env_name
from outreach.store.db import open_database
from outreach.store.directory import DirectoryStore
from outreach.store.directory_import import ImportReport, import_file

DB_ENV = env_name("database", "dsn")  # FIRSTCALL_DB


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `directory` subcommand's arguments to `parser`."""
    sub = parser.add_subparsers(dest="directory_command", required=True)
    imp = sub.add_parser("import", help="import students and guardians from CSV/JSON/JSONL")
    imp.add_argument("file", type=Path, help="a .csv, .json (array) or .jsonl file")
    imp.add_argument(
        "--partial",
        action="store_true",
        help="import the students whose rows are valid even if other rows have errors",
    )
    imp.add_argument(
        "--db",
        default=database_dsn(),
        help=f"database DSN or SQLite path (default: ${DB_ENV} or "
        f"{DatabaseSection.defaults().dsn})",
    )


async def _import(args: argparse.Namespace) -> ImportReport:
    engine = await open_database(args.db)
    try:
        return await import_file(args.file, DirectoryStore(engine), allow_partial=args.partial)
    finally:
        await engine.dispose()


def run(args: argparse.Namespace) -> int:
    """Run the subcommand: 0 when every row was imported, 1 when there were errors."""
    report = asyncio.run(_import(args))
    for error in report.errors:
        print(f"{args.file}: {error}", file=sys.stderr)
    if report.error_count > len(report.errors):
        print(f"... and {report.error_count - len(report.errors)} more error(s)", file=sys.stderr)
    if report.error_count and not report.imported:
        print(f"{report.error_count} error(s); nothing imported", file=sys.stderr)
        return 1
    print(f"imported {report.students} student(s), {report.guardians} guardian(s)")
    if report.skipped_count:
        more = report.skipped_count - len(report.skipped_lines)
        listed = ", ".join(map(str, report.skipped_lines)) + (f" and {more} more" if more else "")
        print(f"{report.error_count} error(s); skipped {report.skipped_count} line(s): {listed}",
              file=sys.stderr)
    return 1 if report.error_count else 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (`python -m monitor.apps.directory import FILE`)."""
    parser = argparse.ArgumentParser(prog="firstcall directory")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
