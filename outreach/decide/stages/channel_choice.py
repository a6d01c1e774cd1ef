"""Channel choice: chat while the student is in class, phone when they dropped out."""

from __future__ import annotations

from outreach.decide.decision import (
    DO_NOT_CONTACT,
    SMS_OPTED_OUT,
    Decision,
    DecisionContext,
    PolicyConfig,
)


def choose_channel(ctx: DecisionContext, cfg: PolicyConfig) -> Decision:
    """Chat if the student is still in class; else a call, or SMS if preferred and not opted out."""
    fam = ctx.family
    if not ctx.session_dropped:
        return Decision("chat", ctx.kind)
    if fam is not None and fam.do_not_call:
        return Decision("none", DO_NOT_CONTACT)
    if fam is not None and fam.preferred_channel == "sms":
        return Decision("call", SMS_OPTED_OUT) if fam.sms_opted_out else Decision("sms", ctx.kind)
    return Decision("call", ctx.kind)
