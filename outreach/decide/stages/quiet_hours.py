"""Quiet hours: no phone call or SMS in the family's quiet hours (in-app chat is fine)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from outreach.decide.decision import QUIET_HOURS, Decision, DecisionContext, PolicyConfig


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def in_quiet_hours(ts_ms: int, time_zone: str, start: str, end: str) -> bool:
    """True when `ts_ms` falls in [start, end) local time (the span may cross midnight)."""
    try:
        tz = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    local = datetime.fromtimestamp(ts_ms / 1000, UTC).astimezone(tz)
    now = local.hour * 60 + local.minute
    a, b = _minutes(start), _minutes(end)
    if a == b:
        return False
    if a < b:
        return a <= now < b
    return now >= a or now < b


def quiet_hours(ctx: DecisionContext, cfg: PolicyConfig) -> Decision | None:
    """Suppress a phone contact during the family's quiet hours."""
    fam = ctx.family
    if fam is None or not fam.quiet_start or not fam.quiet_end or not ctx.session_dropped:
        return None
    if in_quiet_hours(ctx.now, fam.time_zone, fam.quiet_start, fam.quiet_end):
        return Decision("none", QUIET_HOURS)
    return None
