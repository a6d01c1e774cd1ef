"""Report figures over time and for support: minutes lost and incidents per period, time to
first contact, and the technicians' queue against its service level."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.decide.percentiles import percentile
from outreach.store.models import case_events, cases, queue_entries
from outreach.store.reports import minutes_lost, report_query
from outreach.store.unit import read

TOP_SERIES: Final = 5  # the slice's groups with the most minutes lost get a line each
BUCKETS_MS: Final = (300_000, 900_000, 3_600_000, 21_600_000, 86_400_000)
MAX_BUCKETS: Final = 200


def bucket_ms(span_ms: int) -> int:
    """The period of one chart point: the smallest that keeps the chart under 200 points."""
    for size in BUCKETS_MS:
        if span_ms / size <= MAX_BUCKETS:
            return size
    return max(BUCKETS_MS[-1], -(-span_ms // MAX_BUCKETS))



@dataclass(frozen=True, slots=True)
class ContactFigures:
    """Time to first contact and the technicians' queue against its service level."""

    contacted: int
    first_contact_p50_ms: int | None
    first_contact_p95_ms: int | None
    queued: int
    answered_in_sla: int
    breached: int
    waiting: int
    sla_ms: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"contacted": self.contacted, "first_contact_p50_ms": self.first_contact_p50_ms,
                "first_contact_p95_ms": self.first_contact_p95_ms, "queued": self.queued,
                "answered_in_sla": self.answered_in_sla, "breached": self.breached,
                "waiting": self.waiting, "sla_ms": self.sla_ms}


async def report_series(engine: AsyncEngine, by: str, since_ms: int, now_ms: int,
                        until_ms: int | None = None,
                        line_cases: bool | None = None) -> dict[str, Any]:
    """Incidents and lesson minutes lost per period for the slice's top groups."""
    end = until_ms if until_ms is not None else now_ms
    size = bucket_ms(max(1, end - since_ms))
    start = since_ms - since_ms % size
    n = max(1, -(-(end - start) // size))
    async with read(engine) as conn:
        found = (await conn.execute(report_query(by, since_ms, until_ms, line_cases))).all()
    totals: dict[str, float] = {}
    per_key: dict[str, tuple[list[int], list[float]]] = {}
    for r in found:
        if r.kind == "line" and r.related_to is not None:
            continue  # a related line is part of its edge's outage, not an incident of its own
        key = str(r.key or "unknown")
        lost = minutes_lost(r, now_ms)
        totals[key] = totals.get(key, 0.0) + lost
        counts, minutes = per_key.setdefault(key, ([0] * n, [0.0] * n))
        i = min(n - 1, max(0, (int(r.incident_started_at) - start) // size))
        counts[i] += int(r.incidents or 1)  # a family case counts all its incidents
        minutes[i] += lost
    top = sorted(totals, key=lambda k: (-totals[k], -sum(per_key[k][0]), k))[:TOP_SERIES]
    return {
        "bucket_ms": size,
        "t": [start + i * size for i in range(n)],
        "series": [{"key": k, "incidents": per_key[k][0],
                    "lesson_minutes_lost": [round(v, 2) for v in per_key[k][1]]} for k in top],
    }


async def contact_figures(engine: AsyncEngine, since_ms: int, now_ms: int, sla_ms: int,
                          until_ms: int | None = None) -> ContactFigures:
    """Problem start to first contact over the families' cases, and the queue's service level."""
    first = (
        sa.select(case_events.c.case_id, sa.func.min(case_events.c.at).label("at"))
        .where(case_events.c.kind == "attempt")
        .group_by(case_events.c.case_id)
        .subquery()
    )
    contacts = (
        sa.select(cases.c.incident_started_at, first.c.at)
        .join(first, first.c.case_id == cases.c.case_id)
        .where(cases.c.kind != "line", cases.c.incident_started_at >= since_ms)
    )
    queue = sa.select(queue_entries.c.queued_at, queue_entries.c.answered_at).where(
        queue_entries.c.queued_at >= since_ms)
    if until_ms is not None:
        contacts = contacts.where(cases.c.incident_started_at < until_ms)
        queue = queue.where(queue_entries.c.queued_at < until_ms)
    async with read(engine) as conn:
        delays = [max(0, int(r.at) - int(r.incident_started_at))
                  for r in (await conn.execute(contacts)).all()]
        queued = (await conn.execute(queue)).all()
    in_sla = sum(1 for q in queued if q.answered_at is not None
                 and q.answered_at - q.queued_at <= sla_ms)
    waiting = sum(1 for q in queued if q.answered_at is None and now_ms - q.queued_at <= sla_ms)
    return ContactFigures(len(delays), percentile(delays, 0.5), percentile(delays, 0.95),
                          len(queued), in_sla, len(queued) - in_sla - waiting, waiting, sla_ms)
