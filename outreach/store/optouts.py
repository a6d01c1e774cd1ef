"""Numbers that opted out of SMS (STOP), kept in the case database until they opt in (START)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.decide.clock import Clock, now_ms
from outreach.store.models import sms_consent, sms_opt_outs
from outreach.store.unit import read, tx

Consent = Literal["stop", "start"]
Applied = Literal["applied", "duplicate", "stale"]


class SmsOptOuts:
    """Who may not get an SMS from us (Twilio refuses to deliver to them anyway)."""

    def __init__(self, engine: AsyncEngine, clock: Clock = now_ms) -> None:
        self.engine = engine
        self.clock = clock

    def _insert(self) -> Any:
        if self.engine.dialect.name == "postgresql":
            return postgresql.insert(sms_opt_outs)
        return sqlite.insert(sms_opt_outs)

    async def opt_out(self, phone: str, message_sid: str) -> None:
        """Record that `phone` asked for no more SMS (idempotent: the first STOP counts)."""
        stmt = self._insert().values(phone=phone, opted_out_at=self.clock(),
                                     message_sid=message_sid)
        async with tx(self.engine, single=True) as conn:
            await conn.execute(stmt.on_conflict_do_nothing(index_elements=["phone"]))

    async def record(
        self, phone: str, action: Consent, message_sid: str, sent_at: int | None = None
    ) -> Applied:
        """Apply a STOP / START once per MessageSid, unless a newer one for `phone` is known.

        `sent_at`: the message's own time (default now). A MessageSid seen before is a
        `duplicate` (a replay or Twilio's retry); an older message than the newest one
        recorded for the number is `stale` (kept in the history, the state unchanged).
        """
        at = self.clock() if sent_at is None else sent_at
        sid = message_sid or f"unsigned-{action}-{at}"
        async with tx(self.engine) as conn:
            inserted = await conn.execute(
                self._consent_insert().values(message_sid=sid, phone=phone, action=action,
                                              sent_at=at)
                .on_conflict_do_nothing(index_elements=["message_sid"])
            )
            if not inserted.rowcount:
                return "duplicate"
            newer = sa.select(sa.func.count()).select_from(sms_consent).where(
                sms_consent.c.phone == phone, sms_consent.c.sent_at > at)
            if (await conn.execute(newer)).scalar_one():
                return "stale"
            await conn.execute(sms_opt_outs.delete().where(sms_opt_outs.c.phone == phone))
            if action == "stop":
                await conn.execute(sms_opt_outs.insert().values(
                    phone=phone, opted_out_at=at, message_sid=sid))
        return "applied"

    def _consent_insert(self) -> Any:
        if self.engine.dialect.name == "postgresql":
            return postgresql.insert(sms_consent)
        return sqlite.insert(sms_consent)

    async def opt_in(self, phone: str) -> bool:
        """Forget an opt-out (START); True when there was one."""
        async with tx(self.engine, single=True) as conn:
            done = await conn.execute(sms_opt_outs.delete().where(sms_opt_outs.c.phone == phone))
        return bool(done.rowcount)

    async def opted_out(self, phones: Iterable[str | None]) -> set[str]:
        """Which of `phones` opted out."""
        wanted = {p for p in phones if p}
        if not wanted:
            return set()
        stmt = sa.select(sms_opt_outs.c.phone).where(sms_opt_outs.c.phone.in_(wanted))
        async with read(self.engine) as conn:
            return {str(p) for p in (await conn.execute(stmt)).scalars().all()}
