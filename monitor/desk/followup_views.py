"""The satisfaction follow-up in the console: scores, the follow-up queue, sticky routing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from monitor.desk.api_base import Api
from monitor.desk.desk import Desk
from outreach.contact.followup import SATISFACTION
from outreach.decide.case import CaseEvent
from outreach.decide.followup_figures import by_agent
from outreach.store.followups import FollowupStore
from outreach.store.queue import QueueRow
from outreach.store.users import User

MAX_HISTORY: Final = 500  # events of the original case shown at a follow-up case's pickup


async def helpers_for(desk: Desk, rows: Sequence[QueueRow]) -> dict[str, str]:
    """Routing's helpers: each family's last helper, and each follow-up case's sticky agent."""
    helpers = await desk.queue.last_helpers(sorted({r.student_id for r in rows if r.student_id}))
    sticky = await FollowupStore(desk.store.engine).sticky_agents(
        [r.case_id for r in rows if r.kind == SATISFACTION])
    return {**helpers, **sticky}


async def original_history(desk: Desk, opened: Mapping[str, Any]) -> dict[str, Any] | None:
    """A follow-up case's original case and its whole timeline (None for other cases)."""
    evidence = opened.get("evidence") or {}
    original_id = evidence.get("follow_up_of") if isinstance(evidence, dict) else None
    if not isinstance(original_id, str) or opened.get("kind") != SATISFACTION:
        return None
    original = await desk.store.get(original_id)
    if original is None:
        return None
    timeline: list[CaseEvent] = await desk.store.timeline(original_id)
    return {
        "case_id": original_id,
        "kind": original.kind,
        "outcome": original.outcome,
        "score": evidence.get("score"),
        "comment": evidence.get("comment"),
        "reason": evidence.get("reason"),
        "agent": evidence.get("agent"),
        "timeline": [{"at": e.at, "kind": e.kind, "actor": e.actor, "data": e.data}
                     for e in timeline[-MAX_HISTORY:]],
    }


async def followups(api: Api, request: Request, user: User) -> Response:
    """Recent follow-ups with their scores, the follow-up cases waiting, scores per agent."""
    store = FollowupStore(api.desk.store.engine)
    now = api.desk.clock()
    recent = await store.recent()
    rows = [r for r in await api.desk.queue.rows() if r.kind == SATISFACTION]
    sticky = await store.sticky_agents([r.case_id for r in rows])
    week = await store.answered(now - 7 * 86_400_000, now + 1)
    return JSONResponse({
        "now": now,
        "recent": [f.to_dict() for f in recent],
        "queue": [{"case_id": r.case_id, "student_id": r.student_id, "reason": r.reason,
                   "queued_at": r.queued_at, "owner": r.owner, "agent": sticky.get(r.case_id)}
                  for r in rows],
        "by_agent": [a.to_dict() for a in by_agent(week)],
    })  # fmt: skip
