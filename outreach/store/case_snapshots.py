"""The incident's telemetry on its case once, however many desk replicas (or replays) try."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from outreach.store.cases import CaseStore
from outreach.store.models import case_events, cases
from outreach.store.unit import tx

SNAPSHOT = "telemetry"


async def add_first_snapshot(store: CaseStore, case_id: str, data: Mapping[str, Any],
                             at: int) -> bool:
    """Add the case's first telemetry snapshot; False if it has one (or no such case).

    The case row is written (locked) first, so of two replicas applying the same incident
    one writes the snapshot and the other sees it.
    """
    async with tx(store.engine) as conn:
        # a write first: it locks the case's row (PostgreSQL) or the database (SQLite) until
        # commit, so the next writer reads after this one's snapshot, never before
        locked = await conn.execute(cases.update().where(cases.c.case_id == case_id)
                                    .values(updated_at=cases.c.updated_at))
        if locked.rowcount == 0:
            return False
        seen = await conn.execute(
            sa.select(case_events.c.event_id)
            .where(case_events.c.case_id == case_id, case_events.c.kind == SNAPSHOT).limit(1))
        if seen.first() is not None:
            return False
        await conn.execute(cases.update().where(cases.c.case_id == case_id)
                           .values(updated_at=at))
        await store.event(conn, case_id, at, SNAPSHOT, "system", dict(data))
    return True
