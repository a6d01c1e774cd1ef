"""Which edge an ISP+region line incident rides on (pure, beside the line correlator).

Every finding carries its session's edge, so the correlator partition that counts an
ISP+region line knows the edge of each of its sessions, whichever partition counts that
edge. When at least `line_related_share` of the line incident's sessions are on one edge,
the incident names that edge as `related_to` in its evidence: if that edge is down too
(its own line incident is open), the ISP line fails only because of it and is attached
to the edge's incident as related, not reported as a separate problem (the case runtime
and the desk do the attaching, where both records meet). The annotation depends only on
the ISP line's own findings, so replay and the Kafka correlator write the same records.

Where both records meet, `outages` groups the open line incidents so that one outage is
one line incident everywhere it is shown or counted (the desk's dashboard, banner and
trends): an edge that is down, with the ISP+region lines related to it under it and
their sessions counted once. An ISP line once attached stays in its edge's outage until
it closes, also when the edge's incident closes first (`attach_related` remembers it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from detectors.findings import Finding
from detectors.records import Incident, line_id


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


@dataclass(frozen=True, slots=True)
class Outage:
    """One outage: the line that is down and the lines failing only because of it."""

    incident_id: str  # the edge's incident (or the line's own, when nothing is related)
    line: str
    started_at: int
    related: tuple[Incident, ...]  # the ISP+region line incidents attached to it
    sessions: frozenset[str]  # every session of the outage, once
    over: bool = False  # the edge is back while a related line still fails


def attach_related(lines: Iterable[Incident], attached: MutableMapping[str, Incident]) -> None:
    """Remember each open ISP+region line incident whose named edge is down (in `lines` too)
    as attached to that edge's incident (`attached`: ISP incident id -> edge record)."""
    found = list(lines)
    down = {line_id(i.line): i for i in found if "edge" in i.line}
    for inc in found:
        edge = down.get(str(inc.evidence.get("related_to")))
        if "isp" in inc.line and edge is not None:
            attached[inc.incident_id] = edge


def outages(lines: Iterable[Incident], attached: Mapping[str, Incident]) -> list[Outage]:
    """The open line incidents as outages, oldest first: an ISP+region line attached to an
    edge (see `attach_related`) is listed under it, not as an outage of its own."""
    found = list(lines)
    heads = {i.incident_id: i for i in found if i.incident_id not in attached}
    under: dict[str, list[Incident]] = {}
    for inc in found:
        edge = attached.get(inc.incident_id)
        if edge is not None:
            under.setdefault(edge.incident_id, []).append(inc)
            heads.setdefault(edge.incident_id, edge)
    out = []
    for iid, head in heads.items():
        related = tuple(sorted(under.get(iid, ()), key=lambda i: line_id(i.line)))
        over = not any(i.incident_id == iid for i in found)  # only its related lines are open
        sessions = set() if over else set(head.sessions or [])
        for r in related:
            sessions.update(r.sessions or [])
        out.append(Outage(iid, line_id(head.line), head.started_at, related,
                          frozenset(sessions), over))
    return sorted(out, key=lambda o: (o.started_at, o.incident_id))
