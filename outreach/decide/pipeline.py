"""The outreach pipeline, assembled in one place (after Alertmanager's notify pipeline).

dedup -> inhibit by line incident -> (an incident joining its family's case: escalate
recurring -> escalate dropped -> joined) -> hold-off -> quiet hours -> rate limit -> channel
choice. The first stage that decides wins; live mode adds retry and fallback after the
channel choice, and every path ends in the record stage.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from outreach.decide.decision import Decision, DecisionContext, PolicyConfig
from outreach.decide.stages.channel_choice import choose_channel
from outreach.decide.stages.dedup import dedup
from outreach.decide.stages.escalate_dropped import escalate_dropped
from outreach.decide.stages.escalate_recurring import escalate_recurring
from outreach.decide.stages.hold_off import hold_off
from outreach.decide.stages.inhibit import inhibit_by_line_incident
from outreach.decide.stages.joined_case import joined_open_case
from outreach.decide.stages.quiet_hours import quiet_hours
from outreach.decide.stages.rate_limit import rate_limit

Stage = Callable[[DecisionContext, PolicyConfig], Decision | None]

STAGES: Final[tuple[tuple[str, Stage], ...]] = (
    ("dedup", dedup),
    ("inhibit", inhibit_by_line_incident),
    ("escalate_recurring", escalate_recurring),
    ("escalate_dropped", escalate_dropped),
    ("joined", joined_open_case),
    ("hold_off", hold_off),
    ("quiet_hours", quiet_hours),
    ("rate_limit", rate_limit),
)


def decide(ctx: DecisionContext, cfg: PolicyConfig) -> tuple[str, Decision]:
    """Run the stages in order; returns the deciding stage's name and its decision."""
    for name, stage in STAGES:
        d = stage(ctx, cfg)
        if d is not None:
            return name, d
    return "channel_choice", choose_channel(ctx, cfg)
