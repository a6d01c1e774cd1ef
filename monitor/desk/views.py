"""The JSON the console and the dashboard show: queue, case pickup view, ops overview."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from detectors.line_related import outages as group_outages
from detectors.records import case_id_for, line_id
from monitor.desk.dashboard import Cell, Snapshot, build
from monitor.desk.desk import Desk
from monitor.desk.followup_views import original_history, sticky_for
from monitor.desk.queue_reads import QueueReads, read_queue
from outreach.decide.call_progress import latest as latest_call
from outreach.decide.case import Case, CaseEvent
from outreach.decide.queue_rules import Agent, rank
from outreach.scripts.recurring import diagnosis, technician_steps
from outreach.scripts.wording import script_for
from outreach.store.case_joins import CaseJoins
from outreach.store.line_problems import LineProblems


def case_json(case: Case) -> dict[str, Any]:
    """A case as JSON."""
    return asdict(case)


def event_json(event: CaseEvent) -> dict[str, Any]:
    """A timeline event as JSON (the telemetry snapshot left out: it is the chart)."""
    out = asdict(event)
    if event.kind == "telemetry":
        out["data"] = {"points": len(event.data.get("points", {}).get("ts", []))}
    return out


async def queue_view(desk: Desk, agents: list[Agent], sla_ms: int,
                     reads: QueueReads | None = None) -> dict[str, Any]:
    """The ranked queue with who each case is offered to, and who holds what.

    `reads`: the queue's database state if already read (shared by the consoles).
    """
    if reads is None:
        reads = await read_queue(desk.queue)
    rows, helpers = reads.rows, reads.helpers
    now = desk.clock()
    waiting = [r.waiting() for r in rows]
    helpers = {**helpers, **await sticky_for(desk, rows)}
    ranked = rank(waiting, now, agents, helpers, sla_ms)
    by_id = {r.case_id: r for r in rows}
    items = []
    for r in ranked:
        row = by_id[r.entry.case_id]
        items.append({
            "case_id": row.case_id, "kind": row.kind, "student_id": row.student_id,
            "reason": row.reason, "queued_at": row.queued_at, "waited_ms": r.waited_ms,
            "score": r.score, "sla_left_ms": r.sla_left_ms, "breached": r.breached,
            "offered_to": r.offered_to, "last_helper": helpers.get(row.student_id or ""),
            "recovered": row.incident_ended_at is not None, "classroom_id": row.classroom_id,
        })
    await _with_problems(desk, items)
    # Held cases, the newest problem first: a problem joining a claimed case moves it up.
    owned = sorted((r for r in rows if r.owner is not None),
                   key=lambda r: (-(r.last_problem_at or r.problem_started_at), r.case_id))
    held = [{"case_id": r.case_id, "kind": r.kind, "student_id": r.student_id, "owner": r.owner,
             "queued_at": r.queued_at, "recovered": r.incident_ended_at is not None,
             "last_problem_at": r.last_problem_at or r.problem_started_at,
             "classroom_id": r.classroom_id}
            for r in owned]
    live = desk.oldest_live(15)
    await _with_problems(desk, held)
    return {"now": now, "sla_ms": sla_ms, "waiting": items, "held": held,
            "outages": outages(desk),
            "agents": [asdict(a) | {"free": a.free} for a in agents],
            "school": {
                "in_class": desk.ring.in_class(),
                "problems": [{"kind": i.kind, "student_id": i.student_id,
                              "classroom_id": i.classroom_id, "age_ms": now - i.started_at,
                              "contacted": i.incident_id in desk.state.contacted}
                             for i in live],
                "problem_count": len(desk.state.live)}}


async def _with_problems(desk: Desk, items: list[dict[str, Any]]) -> None:
    """Line incidents in the queue carry their line, sessions and the families under them."""
    problems = LineProblems(desk.store)
    for item in items:
        if item["kind"] != "line":
            continue
        live = next((i for i in desk.state.lines.values()
                     if case_id_for(i.incident_id) == item["case_id"]), None)
        children = [c for c in await problems.children(item["case_id"])
                    if c.case.kind != "line"]  # related ISP lines are not families
        item["problem"] = {"line": line_id(live.line) if live else "",
                           "sessions": len(live.sessions or []) if live else None,
                           "families": len(children),
                           "open_families": sum(c.case.state != "closed" for c in children)}


def outages(desk: Desk) -> list[dict[str, Any]]:
    """The line incidents open now, for the console's banner (oldest first); an ISP+region
    line related to an edge that is down is part of that edge's outage, not one of its own
    (it stays there until it closes, also when the edge's incident closed first)."""
    st = desk.state
    return [{"case_id": case_id_for(o.incident_id), "incident_id": o.incident_id,
             "line": o.line, "started_at": o.started_at, "sessions": len(o.sessions),
             "related_lines": [line_id(r.line) for r in o.related]}
            for o in group_outages(st.lines.values(), st.attached)]


def _telemetry(timeline: list[CaseEvent], desk: Desk, case: Case) -> dict[str, Any]:
    snapshot = next((e.data for e in reversed(timeline) if e.kind == "telemetry"), None)
    live = desk.ring.series(case.session_id or "", since=case.incident_started_at - 120_000)
    if live["points"]["ts"]:
        ctx = desk.ring.context(case.session_id or "")
        return {"context": ctx.to_dict() if ctx else (snapshot or {}).get("context"), **live}
    if snapshot is not None:
        return dict(snapshot)
    return {"context": None, "points": {"ts": []}, "marks": []}


async def case_view(desk: Desk, case: Case) -> dict[str, Any]:
    """Everything an agent needs at pickup, so the family is not asked twice."""
    timeline = await desk.store.timeline(case.case_id)
    telemetry = _telemetry(timeline, desk, case)
    ctx: Mapping[str, Any] = telemetry.get("context") or {}
    opened = next((e.data for e in timeline if e.kind == "opened"), {})
    earlier = []
    if case.student_id:
        earlier = [case_json(c) for c in
                   await desk.queue.family_cases(case.student_id, exclude=case.case_id)]
    fault = case.kind if case.kind in ("lag", "disconnect", "flapping", "line") else "lag"
    device = str(ctx.get("device") or "pc")
    call = latest_call(timeline)
    # The other incidents joined to the family's case, with their windows.
    spans = await CaseJoins(desk.store).incidents(case.case_id)
    episodes = [{"incident_id": i.incident_id, "kind": i.kind, "start": i.started_at,
                 "end": i.ended_at} for i in spans if i.incident_id != case.incident_id]
    covered = any(e.kind == "decision" and e.data.get("reason") == "covered_by_line_incident"
                  for e in timeline)  # fmt: skip
    recurring = None if len(spans) < 2 else {  # for the technician
        "diagnosis": diagnosis([(i.started_at, i.ended_at) for i in spans], desk.clock(),
                               line_healthy=not covered, lesson_end=ctx.get("lesson_end")),
        "steps": technician_steps(device, str(ctx.get("conn") or "unknown"))}  # fmt: skip
    return {
        "case": case_json(case),
        "incident": opened,
        "context": dict(ctx),
        "line": line_id(opened.get("line") or ctx.get("line") or {}),
        "telemetry": {"points": telemetry.get("points"), "marks": telemetry.get("marks", [])},
        "timeline": [event_json(e) for e in timeline],
        "earlier_cases": earlier,
        "episodes": episodes,
        "recurrences": len(episodes),  # problems that came back on this case
        "recurring": recurring,
        "script": {lang: script_for(fault, device, lang,  # type: ignore[arg-type]
                                    str(ctx.get("conn") or "unknown")).text
                   for lang in ("en", "zh-CN")},
        "call": None if call is None else call.to_dict(),
        "follow_up_of": await original_history(desk, opened),  # a low score's case
        "call_back_due_at": next((e.data.get("due_at") for e in reversed(timeline)
                                  if e.kind == "call_back_scheduled"), None),
        "now": desk.clock(),
    }


async def dashboard_view(desk: Desk, agents: list[Agent], sla_ms: int) -> dict[str, Any]:
    """The ops overview from one snapshot, plus the last hour's trends (which it feeds)."""
    st = desk.state
    now = desk.clock()
    rows = await desk.queue.rows()
    waits = [now - r.queued_at for r in rows if r.owner is None]

    def cell_of(sid: str) -> Cell | None:
        ctx = desk.ring.context(sid)
        return None if ctx is None else (ctx.edge, ctx.isp, ctx.region)

    snap = Snapshot(
        now=now, live=list(st.live.values()), lines=list(st.lines.values()),
        active=desk.ring.active_by_line(), cell_of=cell_of, waits=waits,
        held=len(rows) - len(waits), first_contact_ms=list(st.first_contact_ms),
        suppressed=st.suppressed, agents_online=sum(1 for a in agents if a.online),
        agents_free=sum(1 for a in agents if a.free), escalated=st.escalated,
        attached=dict(st.attached))
    out = build(snap, sla_ms)
    tiles = out["tiles"]
    desk.trends.add(now, {"incidents": tiles["live_incidents"] + tiles["line_incidents"],
                          "sessions_in_trouble": tiles["sessions_in_trouble"],
                          "queue_depth": out["queue"]["depth"]})
    out["trends"] = desk.trends.to_dict()
    return out
