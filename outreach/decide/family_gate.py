"""The family gate: a phone decision checked against the directory and the calls made so far.

The Kafka worker decides without the family directory (and counts calls per
partition, in memory); the live runner re-runs the family stages of the same
pipeline (quiet hours, rate limit, channel choice) on what the directory and the
case database say, so quiet hours, do-not-call, SMS preference and per-family
limits hold across partitions and restarts.
"""

from __future__ import annotations

from dataclasses import replace

from outreach.decide.decision import (
    SMS_OPTED_OUT,
    Decision,
    DecisionContext,
    FamilyPrefs,
    PolicyConfig,
)
from outreach.decide.stages.channel_choice import choose_channel
from outreach.decide.stages.quiet_hours import quiet_hours
from outreach.decide.stages.rate_limit import rate_limit

FAMILY_STAGES = (quiet_hours, rate_limit)


def gate(
    decision: Decision,
    ctx: DecisionContext,
    cfg: PolicyConfig,
) -> Decision:
    """The decision after the family stages: unchanged, moved to SMS or call, or suppressed."""
    if decision.action not in ("call", "sms"):
        return decision
    for stage in FAMILY_STAGES:
        d = stage(ctx, cfg)
        if d is not None:
            return d
    chosen = choose_channel(ctx, cfg)
    if chosen.action == "none" or chosen.reason == SMS_OPTED_OUT:
        return chosen
    return Decision(chosen.action, decision.reason)


def phone_context(
    inc: DecisionContext, family: FamilyPrefs | None, calls: tuple[int, int]
) -> DecisionContext:
    """`inc` as the family stages see a phone decision: dropped out, with the calls made."""
    return replace(
        inc,
        incident_closed=False,
        session_dropped=True,
        covering_line_incident=None,
        contacted_recently=False,
        calls_this_lesson=calls[0],
        calls_today=calls[1],
        family=family,
    )
