"""Dedup: one contact per problem; a family already contacted is not contacted again."""

from __future__ import annotations

from outreach.decide.decision import ALREADY_CONTACTED, Decision, DecisionContext, PolicyConfig


def dedup(ctx: DecisionContext, cfg: PolicyConfig) -> Decision | None:
    """Suppress when this session's family was contacted recently for another incident."""
    # An incident joining its family's case is answered by the case's rules instead (1.1).
    if ctx.contacted_recently and ctx.case is None:
        return Decision("none", ALREADY_CONTACTED)
    return None
