"""`firstcall voc --since 7d [--until ..] [--format md|html|csv] [--out FILE] [--send]`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from monitor.platform.settings import ConfigError, config_path, load_settings
from monitor.report_format import parse_since
from monitor.voc_delivery import DeliveryError, deliver, problems
from monitor.voc_format import csv_text, markdown
from monitor.voc_html import html
from outreach.decide.clock import now_ms
from outreach.decide.voc_rules import Digest
from outreach.store.db import open_database
from outreach.store.voc import MAX_PERIOD_MS, digest_for

FORMATS = ("md", "html", "csv")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `firstcall voc`."""
    parser.add_argument("--since", default="7d",
                        help="start of the period: 7d, 24h ago, an ISO date or epoch ms "
                             "(default 7d); the period as long before it is shown beside it")
    parser.add_argument("--until", default=None, help="end of the period (same forms; default "
                        "now)")
    parser.add_argument("--format", default="md", choices=FORMATS, help="default md")
    parser.add_argument("-o", "--out", type=Path, default=None,
                        help="write here (default stdout)")
    parser.add_argument("--send", action="store_true",
                        help="also email it and/or POST it to the webhook ([digest] settings)")
    parser.add_argument("--config", metavar="FILE", default=config_path(),
                        help="TOML or JSON config file (default: $FIRSTCALL_CONFIG)")
    parser.add_argument("--db", default=None,
                        help="database DSN or SQLite path (default: the [database] setting)")


def render(digest: Digest, fmt: str) -> str:
    """The digest in one of `FORMATS`."""
    if fmt == "csv":
        return csv_text(digest)
    if fmt == "html":
        return html(digest)
    return markdown(digest)


async def _digest(dsn: str, since: int, until: int) -> Digest:
    engine = await open_database(dsn)
    try:
        return await digest_for(engine, since, until)
    finally:
        await engine.dispose()


def run(args: argparse.Namespace) -> int:
    """Build the digest, print or write it, and send it when asked."""
    now = now_ms()
    try:
        since = parse_since(args.since, now)
        until = parse_since(args.until, now) if args.until else now
        settings = load_settings(args.config)
    except (ValueError, ConfigError) as exc:
        print(f"firstcall voc: {exc}", file=sys.stderr)
        return 2
    if not 0 < until - since <= MAX_PERIOD_MS:
        print(f"firstcall voc: the period must end after it starts and be at most "
              f"{MAX_PERIOD_MS // 86_400_000} days", file=sys.stderr)
        return 2
    if args.send and (missing := problems(settings.digest)):
        print("firstcall voc: cannot send: " + "; ".join(missing), file=sys.stderr)
        return 2
    digest = asyncio.run(_digest(args.db or settings.database.dsn, since, until))
    text = render(digest, args.format)
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    if args.send:
        try:
            done = asyncio.run(deliver(digest, settings.digest, now // 1000))
        except DeliveryError as exc:
            print(f"firstcall voc: not delivered: {exc}", file=sys.stderr)
            return 1
        for line in done:
            print(f"firstcall voc: {line}", file=sys.stderr)
    return 0
