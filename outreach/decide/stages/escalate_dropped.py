"""Escalate dropped: a student who dropped out after chat-only contact gets a call (or SMS)."""

from __future__ import annotations

from outreach.decide.decision import (
    DO_NOT_CONTACT,
    ESCALATED_DROPPED,
    RATE_LIMITED,
    Decision,
    DecisionContext,
    PolicyConfig,
)
from outreach.decide.stages.quiet_hours import in_quiet_hours


def escalate_dropped(ctx: DecisionContext, cfg: PolicyConfig) -> Decision | None:
    """A joined disconnect while every contact was chat: call, or SMS where calls may not."""
    case = ctx.case
    if case is None or not case.chat_only or ctx.kind != "disconnect" or ctx.incident_closed:
        return None
    recent = case.last_phone_contact_at
    limits = ctx.calls_this_lesson >= cfg.max_calls_per_lesson or (
        ctx.calls_today >= cfg.max_calls_per_day)
    if limits or (recent is not None and ctx.now - recent < cfg.phone_gap_ms):
        return Decision("none", RATE_LIMITED)
    fam = ctx.family
    if fam is None:
        return Decision("call", ESCALATED_DROPPED)
    quiet = bool(fam.quiet_start and fam.quiet_end) and in_quiet_hours(
        ctx.now, fam.time_zone, fam.quiet_start or "", fam.quiet_end or "")
    if not (quiet or fam.do_not_call):
        return Decision("call", ESCALATED_DROPPED)
    if fam.sms_opted_out:
        return Decision("none", DO_NOT_CONTACT)
    return Decision("sms", ESCALATED_DROPPED)
