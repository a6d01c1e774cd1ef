"""Dedup: one contact per problem; a family already contacted is not contacted again."""

from __future__ import annotations

from outreach.decide.decision import ALREADY_CONTACTED, Decision, DecisionContext, PolicyConfig


def dedup(ctx: DecisionContext, cfg: PolicyConfig) -> Decision | None:
    """Suppress when this session's family was contacted recently for another incident."""
    if ctx.contacted_recently:
        return Decision("none", ALREADY_CONTACTED)
    return None
