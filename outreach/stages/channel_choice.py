"""Channel choice: chat while the student is in class, phone when they dropped out."""

from __future__ import annotations

from outreach.decision import DO_NOT_CONTACT, Decision, DecisionContext, PolicyConfig


def choose_channel(ctx: DecisionContext, cfg: PolicyConfig) -> Decision:
    """In-app chat if the student is still connected; otherwise a call (or SMS if preferred)."""
    fam = ctx.family
    if not ctx.session_dropped:
        return Decision("chat", ctx.kind)
    if fam is not None and fam.do_not_call:
        return Decision("none", DO_NOT_CONTACT)
    if fam is not None and fam.preferred_channel == "sms":
        return Decision("sms", ctx.kind)
    return Decision("call", ctx.kind)
