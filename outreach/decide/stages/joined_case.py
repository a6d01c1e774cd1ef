"""Joined: any other incident of a family with an open case joins it; its owner sees it."""

from __future__ import annotations

from outreach.decide.decision import JOINED_OPEN_CASE, Decision, DecisionContext, PolicyConfig


def joined_open_case(ctx: DecisionContext, cfg: PolicyConfig) -> Decision | None:
    """No new cold contact for a joined incident: it goes on the case's timeline."""
    if ctx.case is None:
        return None
    return Decision("none", JOINED_OPEN_CASE)
