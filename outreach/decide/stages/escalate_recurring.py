"""Escalate recurring: a family whose problems keep coming back gets a technician, once."""

from __future__ import annotations

from outreach.decide.decision import ESCALATED_RECURRING, Decision, DecisionContext, PolicyConfig


def escalate_recurring(ctx: DecisionContext, cfg: PolicyConfig) -> Decision | None:
    """A joined incident that makes the problems recurring (count or minutes lost) -> queue."""
    case = ctx.case
    if case is None or case.escalated:
        return None
    recurring = case.incidents_in_window >= cfg.recurring_incidents
    if recurring or case.minutes_lost > cfg.lesson_minutes_lost_escalate:
        return Decision("agent_queue", ESCALATED_RECURRING)
    return None
