"""Each incident record applied once: a keyed row per (incident, record digest).

A redelivered `update` or `closed` is recognised by one primary-key insert, in the
transaction that applies it, instead of by reading the case's whole timeline (which grows
with a long line incident).
"""

from __future__ import annotations

import hashlib

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from detectors.records import Incident
from outreach.store.models import case_events, incident_records
from outreach.store.unit import read


def record_digest(inc: Incident) -> str:
    """A short digest of the record's contract form (the same record, the same digest)."""
    raw = orjson.dumps(inc.to_dict(), option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


async def first_time(conn: AsyncConnection, inc: Incident, now: int) -> bool:
    """Note the record inside the caller's transaction; False if it was applied before."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(incident_records).values(
        incident_id=inc.incident_id, digest=record_digest(inc), at=now
    )
    done = await conn.execute(stmt.on_conflict_do_nothing())
    return bool(done.rowcount == 1)


async def has_event(engine: AsyncEngine, case_id: str, kind: str) -> bool:
    """Does the case's timeline hold an event of `kind`? (One indexed look-up, not a read.)"""
    e = case_events.c
    stmt = sa.select(sa.literal(1)).where(e.case_id == case_id, e.kind == kind).limit(1)
    async with read(engine) as conn:
        return (await conn.execute(stmt)).first() is not None
