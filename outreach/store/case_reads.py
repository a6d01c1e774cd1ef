"""Reads of the case store: a case by id or incident, cases by student or state, timelines."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.decide.case import Case, CaseEvent
from outreach.decide.case_states import CaseState
from outreach.store.models import case_events, cases
from outreach.store.unit import read


def case_from_row(row: sa.Row[Any]) -> Case:
    """A Case from a row selected from the `cases` table (for queries of other modules)."""
    m = row._mapping
    return Case(**{name: m[name] for name in Case.__dataclass_fields__})


_case = case_from_row


class CaseReads:
    """The case store's reads (`CaseStore` adds the writes): outside a poll's batch each is
    a read of its own, in a batch it sees the batch's writes (`outreach.store.unit.read`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def get(self, case_id: str) -> Case | None:
        """The case, or None."""
        async with read(self.engine) as conn:
            row = (await conn.execute(sa.select(cases).where(cases.c.case_id == case_id))).first()
        return None if row is None else _case(row)

    async def by_incident(self, incident_id: str) -> Case | None:
        """The case of an incident, or None."""
        async with read(self.engine) as conn:
            row = (
                await conn.execute(sa.select(cases).where(cases.c.incident_id == incident_id))
            ).first()
        return None if row is None else _case(row)

    async def active_for_student(self, student_id: str) -> list[Case]:
        """The student's cases that are not closed, newest first."""
        stmt = (
            sa.select(cases)
            .where(cases.c.student_id == student_id, cases.c.state != "closed")
            .order_by(cases.c.opened_at.desc())
        )
        async with read(self.engine) as conn:
            return [_case(r) for r in (await conn.execute(stmt)).all()]

    async def cases_in_state(self, state: CaseState) -> list[Case]:
        """Every case in `state` (e.g. `contacting`: chains to resume at start-up)."""
        return await self._cases(sa.select(cases).where(cases.c.state == state))

    async def stale_cases(self, older_than_ms: int, now: int) -> list[Case]:
        """Cases not closed, held by no agent, opened `older_than_ms` or longer before `now`.

        A satisfaction follow-up case (a low score) is never stale: it waits for a person.
        """
        c = cases.c
        return await self._cases(
            sa.select(cases).where(
                c.state != "closed", c.owner.is_(None), c.opened_at <= now - older_than_ms,
                c.kind != "satisfaction",
            )
        )

    async def closed_unpublished(self, since: int) -> list[Case]:
        """Cases closed at `since` or later whose outcome has no `outcome_published` event
        (since the case last reopened)."""
        c, e = cases.c, case_events.c
        r = case_events.alias("reopened")
        last_reopen = (
            sa.select(sa.func.coalesce(sa.func.max(r.c.event_id), 0))
            .where(r.c.case_id == e.case_id, r.c.kind == "reopened")
            .scalar_subquery()
        )
        published = sa.select(e.case_id).where(
            e.kind == "outcome_published", e.event_id > last_reopen
        )
        return await self._cases(
            sa.select(cases).where(
                c.state == "closed", c.closed_at >= since, c.case_id.not_in(published)
            )
        )

    async def timeline(self, case_id: str) -> list[CaseEvent]:
        """Every event of the case, oldest first."""
        stmt = (
            sa.select(case_events)
            .where(case_events.c.case_id == case_id)
            .order_by(case_events.c.event_id)
        )
        async with read(self.engine) as conn:
            rows = (await conn.execute(stmt)).all()
        return [CaseEvent(**dict(r._mapping)) for r in rows]

    async def events_of(self, case_id: str, kinds: tuple[str, ...]) -> list[CaseEvent]:
        """The case's events of these kinds, oldest first (not the whole timeline)."""
        e = case_events.c
        stmt = (
            sa.select(case_events)
            .where(e.case_id == case_id, e.kind.in_(kinds))
            .order_by(e.event_id)
        )
        async with read(self.engine) as conn:
            rows = (await conn.execute(stmt)).all()
        return [CaseEvent(**dict(r._mapping)) for r in rows]

    async def _cases(self, stmt: sa.Select[Any]) -> list[Case]:
        async with read(self.engine) as conn:
            return [_case(r) for r in (await conn.execute(stmt)).all()]

    async def _require(self, case_id: str) -> Case:
        case = await self.get(case_id)
        if case is None:
            raise LookupError(case_id)
        return case
