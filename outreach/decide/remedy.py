"""A fix in one tap (pure): when to offer the family "switch to a lighter picture".

Offered for a lag whose evidence points at the family's own downlink: most degraded
intervals show packet loss or a starved picture (low fps while media still arrives), or
the incident names a low receive rate, while the line is healthy (no line incident covers
the session) and the round trip is not what is wrong. A lag of high round trips alone is
the route's doing, which a lighter picture does not fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

Remedy = Literal["lighter_picture"]
LIGHTER_PICTURE: Final[Remedy] = "lighter_picture"
REMEDY_APPLIED: Final = "remedy_applied"  # the chat intent the SDK sends after the tap
DOWNLINK_FLAGS: Final = frozenset({"loss", "low_fps"})


@dataclass(frozen=True, slots=True)
class RemedyRule:
    """How much of the evidence must point at the family's downlink."""

    min_downlink_share: float = 0.5  # of the degraded intervals: loss or low fps
    max_rtt_share: float = 0.5  # more intervals than this with high round trips: the route
    low_recv_kbps: float = 300.0  # an evidence `recv_kbps` below this counts as downlink


def _intervals(evidence: Mapping[str, Any]) -> list[list[str]]:
    """The degraded criteria of each degraded interval (bounded, malformed ones skipped)."""
    found = evidence.get("intervals")
    if not isinstance(found, list):
        return []
    out = []
    for item in found[:256]:
        flags = item.get("degraded") if isinstance(item, Mapping) else None
        if isinstance(flags, list) and flags:
            out.append([str(f) for f in flags])
    return out


def remedy_for(
    kind: str, evidence: Mapping[str, Any], *, line_covered: bool, rule: RemedyRule | None = None
) -> Remedy | None:
    """The one-tap fix to offer for this incident, or None (not the family's downlink)."""
    rule = rule or RemedyRule()
    if kind != "lag" or line_covered:
        return None
    recv = evidence.get("recv_kbps")
    if isinstance(recv, int | float) and not isinstance(recv, bool) and recv < rule.low_recv_kbps:
        return LIGHTER_PICTURE
    degraded = _intervals(evidence)
    if not degraded:
        return None
    downlink = sum(1 for flags in degraded if DOWNLINK_FLAGS.intersection(flags))
    rtt = sum(1 for flags in degraded if "rtt" in flags)
    if rtt / len(degraded) > rule.max_rtt_share:
        return None
    return LIGHTER_PICTURE if downlink / len(degraded) >= rule.min_downlink_share else None
