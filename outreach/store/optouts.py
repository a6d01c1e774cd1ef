"""Numbers that opted out of SMS (STOP), kept in the case database until they opt in (START)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.decide.clock import Clock, now_ms
from outreach.store.models import sms_opt_outs


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
        async with self.engine.begin() as conn:
            await conn.execute(stmt.on_conflict_do_nothing(index_elements=["phone"]))

    async def opt_in(self, phone: str) -> bool:
        """Forget an opt-out (START); True when there was one."""
        async with self.engine.begin() as conn:
            done = await conn.execute(sms_opt_outs.delete().where(sms_opt_outs.c.phone == phone))
        return bool(done.rowcount)

    async def opted_out(self, phones: Iterable[str | None]) -> set[str]:
        """Which of `phones` opted out."""
        wanted = {p for p in phones if p}
        if not wanted:
            return set()
        stmt = sa.select(sms_opt_outs.c.phone).where(sms_opt_outs.c.phone.in_(wanted))
        async with self.engine.connect() as conn:
            return {str(p) for p in (await conn.execute(stmt)).scalars().all()}
