"""Rate limit: at most a few calls per family per lesson and per day."""

from __future__ import annotations

from outreach.decide.decision import RATE_LIMITED, Decision, DecisionContext, PolicyConfig


def rate_limit(ctx: DecisionContext, cfg: PolicyConfig) -> Decision | None:
    """Suppress a call past the per-lesson or per-day limit."""
    if not ctx.session_dropped:
        return None
    lesson_full = ctx.calls_this_lesson >= cfg.max_calls_per_lesson
    if lesson_full or ctx.calls_today >= cfg.max_calls_per_day:
        return Decision("none", RATE_LIMITED)
    return None
