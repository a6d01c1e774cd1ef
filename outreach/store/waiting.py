"""Decisions that came before their incident record, kept in the database until it comes.

A decision is never given up: it waits here (not in memory, however many wait, and across
a restart) until its incident's record puts the incident on a case.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Outreach, decode_record
from outreach.store.models import waiting_decisions
from outreach.store.unit import read, tx


def _data(o: Outreach) -> dict[str, Any]:
    return {**o.to_dict(), "detail": dict(o.detail)}


def _decision(data: dict[str, Any]) -> Outreach:
    record = decode_record(orjson.dumps(data))
    assert isinstance(record, Outreach)
    return record


class WaitingDecisions:
    """The waiting decisions of a case database, by incident id."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def keep(self, o: Outreach, now: int) -> None:
        """Keep a decision until its incident comes."""
        async with tx(self.engine, single=True) as conn:
            row = {"incident_id": o.incident_id, "data": _data(o), "since": now}
            await conn.execute(waiting_decisions.insert().values(**row))

    async def take(self, incident_id: str) -> list[tuple[Outreach, int]]:
        """Remove and return the decisions waiting for this incident, with since when."""
        w = waiting_decisions.c
        async with tx(self.engine) as conn:
            rows = (
                await conn.execute(
                    sa.select(w.seq, w.data, w.since)
                    .where(w.incident_id == incident_id)
                    .order_by(w.seq)
                )
            ).all()
            if rows:
                await conn.execute(
                    waiting_decisions.delete().where(w.seq.in_([r.seq for r in rows]))
                )
        return [(_decision(r.data), int(r.since)) for r in rows]

    async def counts(self) -> Counter[str]:
        """How many decisions wait, by incident id (at start-up)."""
        w = waiting_decisions.c
        stmt = sa.select(w.incident_id, sa.func.count()).group_by(w.incident_id)
        async with read(self.engine) as conn:
            return Counter({str(iid): int(n) for iid, n in (await conn.execute(stmt)).all()})
