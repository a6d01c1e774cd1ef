"""A confirmed goodwill offer told to the family by their channel: an SMS to a guardian who
prefers the phone (the in-app message is written with the confirmation for everyone)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from outreach.channels.base import Channel, OutboundMessage
from outreach.decide.clock import Clock, now_ms
from outreach.decide.goodwill import family_sms_step
from outreach.scripts.goodwill_wording import goodwill_text
from outreach.store.directory import DirectoryStore
from outreach.store.optouts import SmsOptOuts
from outreach.store.outbox import OutboxMessage

Result = Literal["sent", "later", "skipped", "failed", "retry"]


@dataclass(frozen=True, slots=True)
class FamilySms:
    """Sends one family's goodwill SMS, if they are to have one now."""

    directory: DirectoryStore
    opt_outs: SmsOptOuts
    sms: Channel
    clock: Clock = now_ms

    async def send(self, row: OutboxMessage) -> tuple[Result, str]:
        """What became of the row's SMS, and why (or the provider's id)."""
        student = await self.directory.get(row.student_id)
        phones = [g.phone for g in student.guardians] if student is not None else []
        step = family_sms_step(student, await self.opt_outs.opted_out(phones), self.clock())
        if step.action == "later":
            return "later", step.reason
        if step.action == "skip" or step.phone is None:
            return "skipped", step.reason
        kind = str(row.payload.get("kind", "makeup"))
        result = await self.sms.send(OutboundMessage(
            message_id=row.message_id, case_id=row.case_id or row.message_id,
            student_id=row.student_id, channel="sms", fault="disconnect", to=step.phone,
            language=step.language, text=goodwill_text(kind, step.language)))
        if result.ok:
            return "sent", result.provider_id or ""
        return ("retry" if result.retryable else "failed"), result.reason
