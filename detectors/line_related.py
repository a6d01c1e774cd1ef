"""Which edge an ISP+region line incident rides on (pure, beside the line correlator).

Every finding carries its session's edge, so the correlator partition that counts an
ISP+region line knows the edge of each of its sessions, whichever partition counts that
edge. When at least `line_related_share` of the line incident's sessions are on one edge,
the incident names that edge as `related_to` in its evidence: if that edge is down too
(its own line incident is open), the ISP line fails only because of it and is attached
to the edge's incident as related, not reported as a separate problem (the case runtime
and the desk do the attaching, where both records meet). The annotation depends only on
the ISP line's own findings, so replay and the Kafka correlator write the same records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from detectors.findings import Finding


class EdgeBook:
    """The edge of every session a correlator has seen join or start an episode."""

    __slots__ = ("edge_of",)

    def __init__(self) -> None:
        self.edge_of: dict[str, str] = {}

    def take(self, f: Finding) -> None:
        """Remember (or forget, when it left) the session's edge."""
        if f.kind == "leave":
            self.edge_of.pop(f.session_id, None)
        elif f.edge:
            self.edge_of[f.session_id] = f.edge


def related_edge(line: Mapping[str, str], sessions: Iterable[str], edge_of: Mapping[str, str],
                 share: float) -> dict[str, Any]:
    """Evidence naming the edge an ISP+region line incident rides on ({} when none, or for an
    edge line, or when `share` is 0: the rule is off)."""
    if "isp" not in line or share <= 0:
        return {}
    members = list(sessions)
    if not members:
        return {}
    edges = Counter(edge_of[sid] for sid in members if sid in edge_of)
    if not edges:
        return {}
    (edge, n), = edges.most_common(1)
    ratio = n / len(members)
    if ratio < share:
        return {}
    return {"related_to": f"edge:{edge}", "edge_share": round(ratio, 3)}
