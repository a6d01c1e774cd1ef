"""Hold-off: a problem that healed within the hold-off causes no contact."""

from __future__ import annotations

from outreach.decide.decision import RECOVERED_IN_HOLD_OFF, Decision, DecisionContext, PolicyConfig


def hold_off(ctx: DecisionContext, cfg: PolicyConfig) -> Decision | None:
    """Suppress when the incident closed before the hold-off ran out."""
    if ctx.incident_closed:
        return Decision("none", RECOVERED_IN_HOLD_OFF)
    return None
