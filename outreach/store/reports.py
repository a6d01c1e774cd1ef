"""Reports over cases: incidents, lesson minutes lost, contacts, outcomes and top causes.

Grouped by classroom, teacher, device, app version or line, so the classroom
team sees which lessons lost time and the infrastructure team which lines failed. One
outage is one line incident here too: an ISP+region line case attached under an edge's
line case (a related line, `outreach.contact.line_cases`) is not counted as an incident of
its own line but listed under the edge's row (`related_lines`: line -> incidents).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.decide.outcomes import lesson_minutes_lost
from outreach.store.line_problems import related_lines
from outreach.store.models import case_events, case_incidents, cases, session_context
from outreach.store.unit import read

GROUPS: Final = ("classroom", "teacher", "device", "app_version", "line")


@dataclass(slots=True)
class ReportRow:
    """One group of the report."""

    key: str
    incidents: int = 0
    lesson_minutes_lost: float = 0.0
    contacts: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    causes: Counter[str] = field(default_factory=Counter)
    related_lines: Counter[str] = field(default_factory=Counter)  # lines under its incidents

    def top_causes(self, n: int = 3) -> list[tuple[str, int]]:
        """The most frequent causes, most frequent first."""
        return self.causes.most_common(n)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "key": self.key,
            "incidents": self.incidents,
            "lesson_minutes_lost": round(self.lesson_minutes_lost, 2),
            "contacts": self.contacts,
            "outcomes": dict(self.outcomes),
            "top_causes": [{"cause": c, "count": n} for c, n in self.top_causes()],
            "related_lines": dict(sorted(self.related_lines.items())),
        }


def _key_column(by: str) -> Any:
    if by == "classroom":
        return cases.c.classroom_id
    return getattr(session_context.c, by)


def report_query(by: str, since_ms: int, until_ms: int | None = None,
                 line_cases: bool | None = None) -> sa.Select[Any]:
    """The cases whose problem began in [since, until), with their group key and figures.

    `line_cases`: None keeps line incidents only when grouping by line; True keeps only
    line incidents (the infrastructure's), False only the families' own problems.
    """
    if by not in GROUPS:
        raise ValueError(f"unknown grouping {by!r}: one of {', '.join(GROUPS)}")
    contacts = (
        sa.select(case_events.c.case_id, sa.func.count().label("n"))
        .where(case_events.c.kind == "attempt")
        .group_by(case_events.c.case_id)
        .subquery()
    )
    counted = (  # a family's case holds all its incidents
        sa.select(case_incidents.c.case_id, sa.func.count().label("n"))
        .group_by(case_incidents.c.case_id)
        .subquery()
    )
    related = related_lines()  # a line case under another line case: part of that outage
    parent_ctx = session_context.alias("parent_ctx")
    stmt = (
        sa.select(
            _key_column(by).label("key"), cases.c.kind, cases.c.outcome, cases.c.state,
            cases.c.lesson_minutes_lost, cases.c.incident_started_at, cases.c.incident_ended_at,
            session_context.c.lesson_end, session_context.c.cause, contacts.c.n,
            counted.c.n.label("incidents"), related.c.parent.label("related_to"),
            parent_ctx.c.line.label("related_key"),
        )
        .select_from(cases)
        .outerjoin(session_context, session_context.c.case_id == cases.c.case_id)
        .outerjoin(contacts, contacts.c.case_id == cases.c.case_id)
        .outerjoin(counted, counted.c.case_id == cases.c.case_id)
        .outerjoin(related, related.c.case_id == cases.c.case_id)
        .outerjoin(parent_ctx, parent_ctx.c.case_id == related.c.parent)
        .where(cases.c.incident_started_at >= since_ms)
    )
    if until_ms is not None:
        stmt = stmt.where(cases.c.incident_started_at < until_ms)
    if line_cases is True:
        stmt = stmt.where(cases.c.kind == "line")
    elif line_cases is False or by != "line":
        stmt = stmt.where(cases.c.kind != "line")
    return stmt


def minutes_lost(r: Any, now_ms: int) -> float:
    """A case row's lesson minutes lost: as recorded, else up to now (line incidents: 0)."""
    if r.lesson_minutes_lost is not None:
        return float(r.lesson_minutes_lost)
    if r.kind == "line":
        return 0.0
    return lesson_minutes_lost(r.incident_started_at, r.incident_ended_at or now_ms, r.lesson_end)


async def build_report(
    engine: AsyncEngine, by: str, since_ms: int, now_ms: int, until_ms: int | None = None,
    line_cases: bool | None = None,
) -> list[ReportRow]:
    """Cases whose problem began in [since, until), grouped by `by`; most minutes lost first."""
    stmt = report_query(by, since_ms, until_ms, line_cases)
    async with read(engine) as conn:
        found = (await conn.execute(stmt)).all()
    groups: dict[str, ReportRow] = {}
    for r in found:
        key = str(r.key or "unknown")
        if r.kind == "line" and r.related_to is not None:  # listed under its edge's incident
            groups.setdefault(str(r.related_key or "unknown"),
                              ReportRow(str(r.related_key or "unknown"))).related_lines[key] += 1
            continue
        row = groups.setdefault(key, ReportRow(key))
        row.incidents += int(r.incidents or 1)
        row.lesson_minutes_lost += minutes_lost(r, now_ms)
        row.contacts += int(r.n or 0)
        row.outcomes[r.outcome if r.state == "closed" and r.outcome else "open"] += 1
        row.causes[str(r.cause or r.kind)] += 1
    return sorted(groups.values(), key=lambda g: (-g.lesson_minutes_lost, -g.incidents, g.key))
