"""A line incident as the infrastructure owner sees it: one problem, the families under it."""

from __future__ import annotations

from typing import Any

from detectors.records import line_id
from monitor.desk.desk import Desk
from monitor.desk.views import case_json
from outreach.decide.case import Case
from outreach.store.line_problems import LineProblems

INCIDENT_EVENTS = ("opened", "incident_open", "incident_update", "incident_closed")
MAX_NOTE = 500  # characters of the owner's note to the families


def _status(case: Case) -> str:
    """The problem's status in a word: new (nobody acknowledged), acknowledged, over, closed."""
    if case.state == "closed":
        return "closed"
    if case.incident_ended_at is not None:
        return "over"
    return "acknowledged" if case.owner else "new"


async def _line_of(desk: Desk, case: Case) -> str:
    """The line id of a line case (from its first record)."""
    opened = next((e.data for e in await desk.store.timeline(case.case_id)
                   if e.kind == "opened"), {})
    return line_id(opened.get("line") or {})


async def problem_view(desk: Desk, case: Case) -> dict[str, Any]:
    """The line case, its status, sessions and classrooms, the note and the children."""
    timeline = await desk.store.timeline(case.case_id)
    records = [e.data for e in timeline if e.kind in INCIDENT_EVENTS]
    live = desk.state.lines.get(case.incident_id)
    record: dict[str, Any] = live.to_dict() if live is not None else (records[-1] if records
                                                                       else {})
    sessions = record.get("sessions") or []
    evidence = record.get("evidence") or {}
    every = await LineProblems(desk.store).children(case.case_id)
    children = [c for c in every if c.case.kind != "line"]
    related = [{"case_id": c.case.case_id, "line": await _line_of(desk, c.case),
                "state": c.case.state} for c in every if c.case.kind == "line"]
    rooms = sorted({c.case.classroom_id for c in children if c.case.classroom_id})
    notes = [e for e in timeline if e.kind == "family_note"]
    return {
        "case": case_json(case),
        "line": line_id(record.get("line") or {}),
        "status": _status(case),
        "owner": case.owner,
        "acknowledged": case.owner is not None,
        "started_at": case.incident_started_at,
        "ended_at": case.incident_ended_at,
        "sessions": len(sessions),
        "classrooms": rooms,
        "classroom_count": max(len(rooms), int(evidence.get("classrooms") or 0)),
        "note": notes[-1].data.get("text", "") if notes else "",
        "related_lines": related,
        "children_closed": any(e.kind == "children_closed" for e in timeline),
        "children": [{
            "case_id": c.case.case_id, "student_id": c.case.student_id,
            "session_id": c.case.session_id, "classroom_id": c.case.classroom_id,
            "kind": c.case.kind, "state": c.case.state, "outcome": c.case.outcome,
            "reason": c.reason, "attached_at": c.attached_at,
            "recovered": c.case.incident_ended_at is not None,
        } for c in children],
        "now": desk.clock(),
    }
