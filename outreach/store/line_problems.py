"""Line incidents as problems with children: the family cases a line case covers.

A line incident's case is the problem (one queue item, for the infrastructure owner);
each family case whose trouble the line incident covers is a child (`line_children`),
listed under the problem and never queued on its own. The owner's bulk action closes
the open children with the outcome `infra_incident`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects import postgresql, sqlite

from outreach.decide.case import Case
from outreach.decide.outcomes import Outcome
from outreach.store.case_closing import Closing, chunks, close_many
from outreach.store.case_reads import case_from_row
from outreach.store.cases import CaseStore
from outreach.store.models import (
    case_events,
    case_incidents,
    cases,
    line_children,
    queue_entries,
)
from outreach.store.unit import read, tx

log = structlog.get_logger(__name__)
INFRA_INCIDENT: Final[Outcome] = "infra_incident"
CLOSED_WITH_LINE = "closed_with_line_incident"
MAX_SESSIONS = 5000  # sessions of one line incident looked at (a bound on hostile input)


@dataclass(frozen=True, slots=True)
class Child:
    """A family case under a line case, and why it was attached."""

    case: Case
    reason: str
    attached_at: int


class LineProblems:
    """The children of line cases, in the case database."""

    def __init__(self, store: CaseStore) -> None:
        self.store = store
        self.engine = store.engine

    async def attach(self, line_case_id: str, case_id: str, reason: str, at: int) -> bool:
        """Put the family case under the line case (True if it was not there yet)."""
        return bool(await self.attach_many(line_case_id, [case_id], reason, at))

    async def attach_many(
        self, line_case_id: str, case_ids: Sequence[str], reason: str, at: int
    ) -> list[str]:
        """Put the family cases under the line case, at once; those that were not there yet."""
        if not case_ids:
            return []
        insert = (postgresql.insert if self.engine.dialect.name == "postgresql"
                  else sqlite.insert)
        added: set[str] = set()
        async with tx(self.engine) as conn:
            # One statement cached for any count (SQLAlchemy sends the rows as one multi-row
            # INSERT: "insertmanyvalues"), not a statement compiled and kept for each count.
            stmt = (insert(line_children)
                    .on_conflict_do_nothing(index_elements=["line_case_id", "case_id"])
                    .returning(line_children.c.case_id))  # fmt: skip
            for part in chunks(case_ids):
                rows = [{"line_case_id": line_case_id, "case_id": case_id, "reason": reason[:64],
                         "attached_at": at} for case_id in dict.fromkeys(part)]
                added.update(str(c) for c in (await conn.execute(stmt, rows)).scalars())
            new = [case_id for case_id in dict.fromkeys(case_ids) if case_id in added]
            for part in chunks(new):  # never in the queue on their own (unless an agent holds)
                unowned = sa.select(cases.c.case_id).where(cases.c.case_id.in_(part),
                                                           cases.c.owner.is_(None))
                await conn.execute(
                    queue_entries.update()
                    .where(queue_entries.c.case_id.in_(unowned),
                           queue_entries.c.done_at.is_(None))
                    .values(done_at=at)
                )
        await self.store.add_events([
            (case_id, "under_line_incident", {"line_case_id": line_case_id, "reason": reason})
            for case_id in new], at=at)  # fmt: skip
        for case_id in new:
            log.info("case_under_line_incident", case_id=case_id, line_case_id=line_case_id,
                     reason=reason)
        return new

    async def line_of(self, case_id: str) -> str | None:
        """The line case the family case is under (the latest), or None."""
        stmt = (sa.select(line_children.c.line_case_id)
                .where(line_children.c.case_id == case_id)
                .order_by(line_children.c.attached_at.desc()).limit(1))
        async with read(self.engine) as conn:
            found = (await conn.execute(stmt)).scalar()
        return None if found is None else str(found)

    async def children(self, line_case_id: str) -> list[Child]:
        """The family cases under the line case, in the order they were attached."""
        stmt = (sa.select(cases, line_children.c.reason, line_children.c.attached_at)
                .join(line_children, line_children.c.case_id == cases.c.case_id)
                .where(line_children.c.line_case_id == line_case_id)
                .order_by(line_children.c.attached_at, cases.c.case_id))
        async with read(self.engine) as conn:
            rows = (await conn.execute(stmt)).all()
        return [Child(case_from_row(r), str(r.reason), int(r.attached_at)) for r in rows]

    async def open_cases_of(self, sessions: Iterable[str], since: int) -> list[Case]:
        """Family cases not closed, of these sessions, with a problem that began at `since` or
        later (or that is still going on)."""
        wanted = sorted(set(sessions))[:MAX_SESSIONS]
        if not wanted:
            return []
        recent = (sa.select(case_incidents.c.case_id)
                  .where(sa.or_(case_incidents.c.started_at >= since,
                                case_incidents.c.ended_at.is_(None),
                                case_incidents.c.ended_at >= since)))
        stmt = (sa.select(cases)
                .where(cases.c.session_id.in_(wanted), cases.c.state != "closed",
                       cases.c.kind != "line", cases.c.case_id.in_(recent))
                .order_by(cases.c.case_id))
        async with read(self.engine) as conn:
            return [case_from_row(r) for r in (await conn.execute(stmt)).all()]

    async def close_children(self, line_case_id: str, actor: str, at: int) -> list[str]:
        """Close the open children with `infra_incident` (not those another agent holds), in
        a few statements for all (`case_closing.close_many`)."""
        children = [c.case for c in await self.children(line_case_id)
                    if c.case.state != "closed" and c.case.owner in (None, actor)]
        done = await close_many(self.store, [Closing(c, INFRA_INCIDENT, None) for c in children],
                                reason=CLOSED_WITH_LINE, actor=actor, holder=actor, at=at)
        closed = [case.case_id for case in done]
        for case in children:
            if case.case_id not in closed:
                log.info("line_child_not_closed", case_id=case.case_id, reason="changed")
        async with tx(self.engine) as conn:
            for part in chunks(closed):
                await conn.execute(
                    queue_entries.update()
                    .where(queue_entries.c.case_id.in_(part), queue_entries.c.done_at.is_(None))
                    .values(done_at=at))
        await self.store.add_event(line_case_id, "children_closed",
                                   {"closed": len(closed)}, actor=actor, at=at)
        log.info("line_children_closed", line_case_id=line_case_id, closed=len(closed))
        return closed

    async def claim_telling(self, line_case_id: str, case_ids: Sequence[str], at: int) -> set[str]:
        """Take the one right to tell these families the class works again (race-free): those
        of them not told yet, now claimed (one statement per `CHUNK`)."""
        claimed: set[str] = set()
        async with tx(self.engine) as conn:
            for part in chunks(case_ids):
                done = await conn.execute(
                    line_children.update()
                    .where(line_children.c.line_case_id == line_case_id,
                           line_children.c.case_id.in_(part), line_children.c.told_at.is_(None))
                    .values(told_at=at)
                    .returning(line_children.c.case_id))
                claimed.update(str(c) for c in done.scalars())
        return claimed

    async def all_clear_due(self) -> list[str]:
        """Line cases whose incident is over, whose children were closed in bulk, and with
        a family not told yet."""
        bulk = (sa.select(case_events.c.case_id)
                .where(case_events.c.kind == "children_closed"))
        families = sa.select(cases.c.case_id).where(cases.c.kind != "line")
        untold = (sa.select(line_children.c.line_case_id)
                  .where(line_children.c.told_at.is_(None),
                         line_children.c.case_id.in_(families)))
        stmt = (sa.select(cases.c.case_id)
                .where(cases.c.kind == "line", cases.c.incident_ended_at.is_not(None),
                       cases.c.case_id.in_(bulk), cases.c.case_id.in_(untold))
                .order_by(cases.c.case_id))
        async with read(self.engine) as conn:
            return [str(r) for r in (await conn.execute(stmt)).scalars()]

    async def open_lines(self) -> list[tuple[str, dict[str, str], dict[str, Any]]]:
        """Line cases not closed: (case id, line, evidence of its latest incident record)."""
        open_lines = sa.select(cases.c.case_id).where(cases.c.kind == "line",
                                                      cases.c.state != "closed")
        stmt = (sa.select(case_events.c.case_id, case_events.c.data)
                .where(case_events.c.case_id.in_(open_lines),
                       case_events.c.kind.in_(("opened", "incident_update")))
                .order_by(case_events.c.event_id))
        latest: dict[str, dict[str, Any]] = {}
        async with read(self.engine) as conn:
            for case_id, data in (await conn.execute(stmt)).all():
                latest[str(case_id)] = dict(data)
        return [(case_id, dict(d.get("line") or {}), dict(d.get("evidence") or {}))
                for case_id, d in sorted(latest.items())]


def related_lines() -> sa.Subquery:
    """Line cases filed under another line case (a related line, part of that outage):
    `case_id` and its `parent` line case (the first, should there be several)."""
    child = cases.alias("child")
    return (
        sa.select(line_children.c.case_id,
                  sa.func.min(line_children.c.line_case_id).label("parent"))
        .join(child, child.c.case_id == line_children.c.case_id)
        .where(child.c.kind == "line")
        .group_by(line_children.c.case_id)
        .subquery()
    )  # fmt: skip
