"""The reports page's document: rows by the chosen slice, figures over time, support figures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.report_format import parse_since
from outreach.store.report_figures import contact_figures, report_series
from outreach.store.reports import build_report


async def report_document(engine: AsyncEngine, by: str, query: Mapping[str, str], now: int,
                          sla_ms: int) -> dict[str, Any]:
    """What /api/reports answers (the query was checked by the caller).

    Sliced by line, the families' own problems on each line and the infrastructure's line
    incidents are reported apart: a line incident is not a family's problem.
    """
    since = parse_since(query.get("since", "24h"), now)
    until = parse_since(query["until"], now) if query.get("until") else None
    split = by == "line"
    rows = await build_report(engine, by, since, now, until, line_cases=False if split else None)
    doc: dict[str, Any] = {
        "by": by, "since": since, "until": until, "now": now,
        "rows": [r.to_dict() for r in rows],
        "series": await report_series(engine, by, since, now, until,
                                      line_cases=False if split else None),
        "support": (await contact_figures(engine, since, now, sla_ms, until)).to_dict(),
    }
    if split:
        infra = await build_report(engine, by, since, now, until, line_cases=True)
        doc["infrastructure"] = [r.to_dict() for r in infra]
    return doc
