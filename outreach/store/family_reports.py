"""Reports by family (one family, one case): contacts, recurring families, escalations.

Cases, not incidents, are what families feel: how often each family was contacted,
which families kept having problems (top by lesson minutes lost), and why cases were
escalated to a phone or a technician.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.decide.decision import ESCALATED_DROPPED, ESCALATED_RECURRING
from outreach.decide.outcomes import lesson_minutes_lost
from outreach.store.models import case_events, case_incidents, cases
from outreach.store.unit import read

TOP_FAMILIES = 20


@dataclass(frozen=True, slots=True)
class FamilyRow:
    """One family over the report's period."""

    student_id: str
    cases: int
    incidents: int
    contacts: int
    lesson_minutes_lost: float

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"student_id": self.student_id, "cases": self.cases, "incidents": self.incidents,
                "contacts": self.contacts,
                "lesson_minutes_lost": round(self.lesson_minutes_lost, 2)}  # fmt: skip


@dataclass(slots=True)
class FamilyReport:
    """Contacts per family, recurring families and escalations by reason."""

    families: list[FamilyRow] = field(default_factory=list)  # most contacts first
    recurring: list[FamilyRow] = field(default_factory=list)  # top by minutes lost
    escalations: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "contacts_per_family": [f.to_dict() for f in self.families],
            "recurring_families": [f.to_dict() for f in self.recurring],
            "escalations_by_reason": dict(self.escalations.most_common()),
        }


async def build_family_report(
    engine: AsyncEngine, since_ms: int, now_ms: int, until_ms: int | None = None
) -> FamilyReport:
    """Family cases whose problem began in [since, until): contacts, recurrence, escalations."""
    c, i, e = cases.c, case_incidents.c, case_events.c
    window = [c.incident_started_at >= since_ms, c.kind != "line", c.student_id.is_not(None)]
    if until_ms is not None:
        window.append(c.incident_started_at < until_ms)
    counted = sa.select(i.case_id, sa.func.count().label("n")).group_by(i.case_id).subquery()
    contacts = (
        sa.select(e.case_id, sa.func.count().label("n"))
        .where(e.kind == "attempt").group_by(e.case_id).subquery()
    )  # fmt: skip
    stmt = (
        sa.select(c.case_id, c.student_id, c.lesson_minutes_lost, c.incident_started_at,
                  c.incident_ended_at, counted.c.n.label("incidents"),
                  contacts.c.n.label("contacts"))
        .outerjoin(counted, counted.c.case_id == c.case_id)
        .outerjoin(contacts, contacts.c.case_id == c.case_id)
        .where(*window)
    )  # fmt: skip
    escalating = (
        sa.select(e.kind, e.data)
        .join(cases, cases.c.case_id == e.case_id)
        .where(*window, e.kind.in_(("decision", "fallback")))
    )
    async with read(engine) as conn:
        rows = (await conn.execute(stmt)).all()
        events = (await conn.execute(escalating)).all()
    by_family: dict[str, list[Any]] = {}
    for r in rows:
        by_family.setdefault(str(r.student_id), []).append(r)
    families = [_family(student, found, now_ms) for student, found in by_family.items()]
    report = FamilyReport()
    report.families = sorted(families, key=lambda f: (-f.contacts, -f.cases, f.student_id))
    recurring = [f for f in families if f.incidents >= 2]
    report.recurring = sorted(
        recurring, key=lambda f: (-f.lesson_minutes_lost, -f.incidents, f.student_id)
    )[:TOP_FAMILIES]
    for kind, data in events:
        reason = str(data.get("reason", ""))
        policy = kind == "decision" and reason in (ESCALATED_DROPPED, ESCALATED_RECURRING)
        if policy or (kind == "fallback" and data.get("step") == "agent_queue"):
            report.escalations[reason] += 1
    return report


def _family(student: str, rows: list[Any], now_ms: int) -> FamilyRow:
    lost = 0.0
    for r in rows:
        if r.lesson_minutes_lost is not None:
            lost += float(r.lesson_minutes_lost)
        else:  # still open: up to now
            lost += lesson_minutes_lost(r.incident_started_at, r.incident_ended_at or now_ms)
    return FamilyRow(student, len(rows), sum(int(r.incidents or 1) for r in rows),
                     sum(int(r.contacts or 0) for r in rows), lost)  # fmt: skip
