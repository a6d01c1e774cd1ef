"""The ops dashboard computed from one snapshot, so every tile, the heat map and the tables agree.

A session is in trouble when it has a live incident of its own or is among a line
incident's sessions; each is counted once, in its own line's heat-map cell. The tiles
are counts of the very rows the tables show. One outage is one line incident: an ISP+region
line that fails only because its edge is down is listed under the edge's incident as a
related line (`detectors.line_related.outages`), its sessions counted once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from detectors.line_related import outages
from detectors.records import Incident, case_id_for, line_id
from monitor.desk.desk import sessions_in_trouble
from outreach.decide.percentiles import percentile

Cell = tuple[str, str, str]  # (edge, isp, region)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the dashboard shows, read at one moment."""

    now: int
    live: list[Incident]
    lines: list[Incident]
    active: Mapping[Cell, int]  # sessions in class by line
    cell_of: Callable[[str], Cell | None]  # a session's line, when the ring knows it
    waits: list[int]  # ms each unowned queue entry has waited
    held: int
    first_contact_ms: list[int]
    suppressed: Counter[str]
    agents_online: int
    agents_free: int
    escalated: Counter[str] = field(default_factory=Counter)  # family cases, by reason
    attached: Mapping[str, Incident] = field(default_factory=dict)  # ISP line -> its edge's


def _cell(inc: Incident) -> Cell:
    return (inc.line.get("edge", "?"), inc.line.get("isp", "?"), inc.line.get("region", "?"))


def troubled_sessions(s: Snapshot) -> dict[str, Cell | None]:
    """Every session in trouble (own incident or under a line incident) and its line cell."""
    own = {inc.session_id or inc.incident_id: _cell(inc) for inc in s.live}
    return {sid: s.cell_of(sid) or own.get(sid) for sid in sessions_in_trouble(s.live, s.lines)}


def heat_map(s: Snapshot, troubled: Mapping[str, Cell | None]) -> list[dict[str, Any]]:
    """Share of sessions in trouble per (edge, isp, region) cell."""
    bad = Counter(c for c in troubled.values() if c is not None)
    out = []
    for key in sorted(set(s.active) | set(bad)):
        n, b = s.active.get(key, 0), bad.get(key, 0)
        n = max(n, b)  # a session in trouble that left is still one of the line's
        out.append({"edge": key[0], "isp": key[1], "region": key[2], "sessions": n,
                    "in_trouble": b, "share": round(b / n, 3) if n else 0.0})
    return out


def build(s: Snapshot, sla_ms: int) -> dict[str, Any]:
    """The dashboard's JSON: tiles, heat map and tables from the one snapshot."""
    troubled = troubled_sessions(s)
    live = [{"incident_id": i.incident_id, "kind": i.kind, "session_id": i.session_id,
             "student_id": i.student_id, "classroom_id": i.classroom_id,
             "line": line_id(i.line), "started_at": i.started_at, "age_ms": s.now - i.started_at}
            for i in sorted(s.live, key=lambda i: i.started_at)]
    lines = [{"incident_id": o.incident_id, "case_id": case_id_for(o.incident_id),
              "line": o.line, "started_at": o.started_at, "sessions": len(o.sessions),
              "age_ms": s.now - o.started_at, "over": o.over,
              "related_lines": [{"incident_id": r.incident_id, "line": line_id(r.line),
                                 "sessions": len(r.sessions or [])} for r in o.related]}
             for o in outages(s.lines, s.attached)]
    return {
        "now": s.now,
        "tiles": {"live_incidents": len(live), "line_incidents": len(lines),
                  "sessions_in_trouble": len(troubled),
                  "sessions_in_class": sum(s.active.values())},
        "live_incidents": live,
        "line_incidents": lines,
        "heat_map": heat_map(s, troubled),
        "queue": {"depth": len(s.waits), "held": s.held,
                  "oldest_wait_ms": max(s.waits, default=0),
                  "breached": sum(1 for w in s.waits if w > sla_ms),
                  "agents_online": s.agents_online, "agents_free": s.agents_free},
        "first_contact_ms": {"p50": percentile(s.first_contact_ms, 0.5),
                             "p95": percentile(s.first_contact_ms, 0.95),
                             "count": len(s.first_contact_ms)},
        "suppressed": dict(s.suppressed.most_common()),
        "escalated": dict(s.escalated.most_common()),
    }
