"""`python -m bench.voc_bench`: how long the weekly digest takes over a large case DB.

Fills a fresh SQLite case database (or `--db`: an empty scratch database) with
`--cases` session cases and `--lines` line incidents over two weeks, then times
`digest_for` (the query and the pure counting) and the Markdown and HTML rendering.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from monitor.voc_format import markdown
from monitor.voc_html import html
from outreach.store.db import make_engine, upgrade
from outreach.store.models import case_events, cases, session_context
from outreach.store.voc import digest_for

T0 = 1_767_258_000_000
DAY = 86_400_000
EDGES = [f"sfu-{i}" for i in range(8)]
ISPS = [f"isp{i}/region{j}" for i in range(6) for j in range(4)]
APPS = ["5.2.1", "5.3.0", "5.3.2", "5.4.0"]


def rows(n_cases: int, n_lines: int, seed: int) -> tuple[list[dict[str, Any]], ...]:
    """Cases, their context and the line incidents' `opened` events, over two weeks."""
    rng = random.Random(seed)
    case_rows: list[dict[str, Any]] = []
    ctx_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    for i in range(n_cases + n_lines):
        start = T0 - 7 * DAY + rng.randrange(14 * DAY)
        line = i >= n_cases
        cid = f"case-{i}"
        case_rows.append({
            "case_id": cid, "incident_id": f"inc-{i}", "kind": "line" if line else "lag",
            "student_id": None if line else f"stu-{rng.randrange(n_cases // 3 + 1)}",
            "classroom_id": None if line else f"room-{rng.randrange(2000)}",
            "state": "closed", "outcome": "self_recovered", "policy": {},
            "incident_started_at": start, "incident_ended_at": start + rng.randrange(600_000),
            "opened_at": start, "updated_at": start})
        edge, isp = rng.choice(EDGES), rng.choice(ISPS)
        if line:
            ctx_rows.append({"case_id": cid, "teacher": "unknown", "device": "unknown",
                             "os": "unknown", "app_version": "unknown", "cause": "line",
                             "line": f"edge:{edge}"})
            event_rows.append({"case_id": cid, "at": start, "kind": "opened", "actor": "system",
                               "data": {"detected_at": start + 12_000, "line": {"edge": edge},
                                        "sessions": [f"s{k}" for k in range(20)]}})
        else:
            isp_name, region = isp.split("/")
            ctx_rows.append({
                "case_id": cid, "teacher": f"t-{rng.randrange(500)}", "device": "ipad",
                "os": "iPadOS 17.5", "app_version": rng.choice(APPS), "cause": "lag: rtt",
                "line": f"line:edge={edge}/isp={isp_name}/region={region}"})
    return case_rows, ctx_rows, event_rows


async def run(n_cases: int, n_lines: int, dsn: str | None, seed: int) -> dict[str, float]:
    """Fill, then time the digest; figures in seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(dsn or str(Path(tmp) / "voc.db"))
        await upgrade(engine)
        case_rows, ctx_rows, event_rows = rows(n_cases, n_lines, seed)
        async with engine.begin() as conn:
            for table, data in ((cases, case_rows), (session_context, ctx_rows),
                                (case_events, event_rows)):
                for k in range(0, len(data), 5000):
                    await conn.execute(table.insert(), data[k:k + 5000])
        t = time.perf_counter()
        digest = await digest_for(engine, T0, T0 + 7 * DAY)
        query = time.perf_counter() - t
        t = time.perf_counter()
        md, page = markdown(digest), html(digest)
        render = time.perf_counter() - t
        await engine.dispose()
    return {"digest_s": round(query, 3), "render_s": round(render, 3),
            "markdown_kb": round(len(md) / 1024, 1), "html_kb": round(len(page) / 1024, 1)}


def main(argv: list[str] | None = None) -> int:
    """Print the figures."""
    p = argparse.ArgumentParser(prog="python -m bench.voc_bench", description=__doc__)
    p.add_argument("--cases", type=int, default=100_000, help="session cases over two weeks")
    p.add_argument("--lines", type=int, default=1_000, help="line incidents over two weeks")
    p.add_argument("--db", default=None, help="an empty scratch database DSN (default SQLite)")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    figures = asyncio.run(run(args.cases, args.lines, args.db, args.seed))
    print(f"voc digest over {args.cases} cases + {args.lines} line incidents (two weeks): "
          + ", ".join(f"{k} {v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
