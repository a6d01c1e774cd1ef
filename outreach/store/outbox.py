"""The chat outbox (in the case database): every pushed message until the app acks it.

The same class keeps the goodwill scheduling webhook's outbox (`goodwill_hooks`, the same
columns): a row until the school's system accepted it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.decide.clock import Clock, now_ms
from outreach.store.models import chat_outbox
from outreach.store.unit import read, tx

CHUNK: Final = 500  # messages per statement of the bulk calls (a bound on bound parameters)


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One message for a student's class app."""

    message_id: str
    student_id: str
    case_id: str | None
    payload: dict[str, Any]
    created_at: int
    acked_at: int | None
    deliveries: int

    def frame(self) -> dict[str, Any]:
        """The JSON frame sent to the app."""
        return {
            **self.payload,
            "type": "message",
            "id": self.message_id,
            "case_id": self.case_id,
            "sent_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to store (`Outbox.add_many`): for whom, what, about which case, its id."""

    student_id: str
    payload: Mapping[str, Any]
    case_id: str | None
    message_id: str


def _message(row: sa.Row[Any]) -> OutboxMessage:
    m = row._mapping
    return OutboxMessage(**{name: m[name] for name in OutboxMessage.__dataclass_fields__})


class Outbox:
    """Un-acked messages per student, in the order they were pushed."""

    def __init__(
        self, engine: AsyncEngine, clock: Clock = now_ms, *, table: sa.Table = chat_outbox
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.table = table

    async def add(
        self,
        student_id: str,
        payload: Mapping[str, Any],
        *,
        case_id: str | None = None,
        message_id: str | None = None,
    ) -> OutboxMessage:
        """Store a message (idempotent by `message_id`) and return it as stored."""
        mid = message_id or uuid.uuid4().hex
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        stmt = (
            insert(self.table)
            .values(
                message_id=mid,
                student_id=student_id,
                case_id=case_id,
                payload=dict(payload),
                created_at=self.clock(),
                deliveries=0,
            )
            .on_conflict_do_nothing(index_elements=["message_id"])
            .returning(*self.table.c)  # the new row (none: stored before)
        )
        async with tx(self.engine, single=True) as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:  # stored before (a retry): as stored then, read on its own
            async with read(self.engine) as conn:
                row = (await conn.execute(
                    sa.select(self.table).where(self.table.c.message_id == mid))).one()
        return _message(row)

    async def add_many(self, messages: Sequence[NewMessage]) -> list[OutboxMessage]:
        """Store many messages (idempotent by message id) and return them as stored, in the
        order given: one multi-row INSERT and one read back (per `CHUNK`)."""
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(self.table).on_conflict_do_nothing(index_elements=["message_id"])
        now = self.clock()
        found: dict[str, OutboxMessage] = {}
        async with tx(self.engine) as conn:
            for start in range(0, len(messages), CHUNK):
                part = messages[start:start + CHUNK]
                await conn.execute(stmt, [  # one statement cached for any count
                    {"message_id": m.message_id, "student_id": m.student_id,
                     "case_id": m.case_id, "payload": dict(m.payload), "created_at": now,
                     "deliveries": 0} for m in part])  # fmt: skip
                ids = [m.message_id for m in part]
                rows = await conn.execute(sa.select(self.table)
                                          .where(self.table.c.message_id.in_(ids)))
                found.update((r.message_id, _message(r)) for r in rows.all())
        return [found[m.message_id] for m in messages]

    async def get(self, message_id: str) -> OutboxMessage | None:
        """A message by id, or None."""
        async with read(self.engine) as conn:
            row = (
                await conn.execute(
                    sa.select(self.table).where(self.table.c.message_id == message_id)
                )
            ).first()
        return None if row is None else _message(row)

    async def pending(self, student_id: str) -> list[OutboxMessage]:
        """The student's un-acked messages, oldest first."""
        stmt = (
            sa.select(self.table)
            .where(self.table.c.student_id == student_id, self.table.c.acked_at.is_(None))
            .order_by(self.table.c.seq)
        )
        async with read(self.engine) as conn:
            return [_message(r) for r in (await conn.execute(stmt)).all()]

    async def pending_for(self, student_ids: list[str], limit: int = 500) -> list[OutboxMessage]:
        """Un-acked messages of any of these students, oldest first (at most `limit`)."""
        stmt = (
            sa.select(self.table)
            .where(self.table.c.student_id.in_(student_ids), self.table.c.acked_at.is_(None))
            .order_by(self.table.c.seq)
            .limit(limit)
        )
        async with read(self.engine) as conn:
            return [_message(r) for r in (await conn.execute(stmt)).all()]

    async def pending_any(self, limit: int = 100) -> list[OutboxMessage]:
        """Un-acked messages of anyone, oldest first (at most `limit`)."""
        stmt = (
            sa.select(self.table)
            .where(self.table.c.acked_at.is_(None))
            .order_by(self.table.c.seq)
            .limit(limit)
        )
        async with read(self.engine) as conn:
            return [_message(r) for r in (await conn.execute(stmt)).all()]

    async def latest_case(self, student_id: str) -> str | None:
        """The case of the newest message sent to the student (to route a bare reply)."""
        stmt = (
            sa.select(self.table.c.case_id)
            .where(self.table.c.student_id == student_id, self.table.c.case_id.is_not(None))
            .order_by(self.table.c.seq.desc())
            .limit(1)
        )
        async with read(self.engine) as conn:
            return (await conn.execute(stmt)).scalar_one_or_none()

    async def mark_sent(self, message_id: str) -> None:
        """Count one delivery attempt."""
        async with tx(self.engine, single=True) as conn:
            await conn.execute(
                self.table.update()
                .where(self.table.c.message_id == message_id)
                .values(deliveries=self.table.c.deliveries + 1)
            )

    async def mark_sent_many(self, deliveries: Mapping[str, int]) -> None:
        """Count deliveries of many messages (message id -> sockets it went to): one UPDATE
        per distinct count (one, unless a family has several sockets)."""
        by_count: dict[int, list[str]] = {}
        for message_id, count in deliveries.items():
            by_count.setdefault(count, []).append(message_id)
        if not by_count:
            return
        async with tx(self.engine) as conn:
            for count, ids in by_count.items():
                for start in range(0, len(ids), CHUNK):
                    await conn.execute(
                        self.table.update()
                        .where(self.table.c.message_id.in_(ids[start:start + CHUNK]))
                        .values(deliveries=self.table.c.deliveries + count)
                    )

    async def acked(self, message_ids: Sequence[str]) -> set[str]:
        """Which of these messages the app has acked (one query per `CHUNK`)."""
        out: set[str] = set()
        async with read(self.engine) as conn:
            for start in range(0, len(message_ids), CHUNK):
                stmt = sa.select(self.table.c.message_id).where(
                    self.table.c.message_id.in_(message_ids[start:start + CHUNK]),
                    self.table.c.acked_at.is_not(None))
                out.update(str(m) for m in (await conn.execute(stmt)).scalars())
        return out

    async def ack(self, message_id: str, student_id: str) -> bool:
        """Mark the student's message acknowledged; False if unknown, not theirs, or acked."""
        async with tx(self.engine, single=True) as conn:
            done = await conn.execute(
                self.table.update()
                .where(
                    self.table.c.message_id == message_id,
                    self.table.c.student_id == student_id,
                    self.table.c.acked_at.is_(None),
                )
                .values(acked_at=self.clock())
            )
        return done.rowcount == 1

    async def purge_acked(self, before_ms: int) -> int:
        """Delete messages acked before `before_ms`; returns how many went."""
        async with tx(self.engine, single=True) as conn:
            done = await conn.execute(
                self.table.delete().where(
                    self.table.c.acked_at.is_not(None), self.table.c.acked_at < before_ms
                )
            )
        return int(done.rowcount)
