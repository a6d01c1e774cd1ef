"""Joined: another incident of a family already reached on its open case goes on that case.

A case nobody was contacted on yet (its problems healed within the hold-off) has
nothing to join: the incident is decided like a first one, on the family's case.
"""

from __future__ import annotations

from outreach.decide.decision import JOINED_OPEN_CASE, Decision, DecisionContext, PolicyConfig


def joined_open_case(ctx: DecisionContext, cfg: PolicyConfig) -> Decision | None:
    """No new cold contact for a joined incident: it goes on the case's timeline."""
    if ctx.case is None or not ctx.case.contacts:
        return None
    return Decision("none", JOINED_OPEN_CASE)
