"""Inhibit: a session inside a line incident gets an in-app notice, not a call."""

from __future__ import annotations

from outreach.decide.decision import (
    COVERED_BY_LINE_INCIDENT,
    Decision,
    DecisionContext,
    PolicyConfig,
)


def inhibit_by_line_incident(ctx: DecisionContext, cfg: PolicyConfig) -> Decision | None:
    """The problem is ours (a line incident): a calm in-app notice instead of a phone call."""
    if ctx.covering_line_incident:
        return Decision("chat", COVERED_BY_LINE_INCIDENT)
    return None
