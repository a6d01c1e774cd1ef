"""The agent's basics: search, queue filters, the family before a call, the demo's clock.

Every parameter is checked (known kinds and states, bounded lengths) before a query runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from detectors.records import KINDS
from monitor.desk.api_base import Api
from monitor.desk.auth import error
from outreach.decide.case_states import STATES
from outreach.store.case_family import CaseFamily
from outreach.store.case_search import MAX_RESULTS, MAX_TEXT, CaseQuery, CaseSearch
from outreach.store.users import User

MAX_ID: Final = 128
QUEUE_STATES: Final = ("waiting", "held", "recovered")  # the queue's own filter words


def _filters(params: Mapping[str, str], states: tuple[str, ...]) -> dict[str, str] | Response:
    """`kind`, `state`, `classroom` from the query string, checked (400 when unknown)."""
    out: dict[str, str] = {}
    kind, state, room = (params.get(k, "").strip() for k in ("kind", "state", "classroom"))
    if kind:
        if kind not in KINDS:
            return error(400, "bad_kind", f"kind must be one of {', '.join(KINDS)}")
        out["kind"] = kind
    if state:
        if state not in states:
            return error(400, "bad_state", f"state must be one of {', '.join(states)}")
        out["state"] = state
    if room:
        if len(room) > MAX_ID:
            return error(400, "bad_classroom", f"at most {MAX_ID} characters")
        out["classroom"] = room
    return out


async def search(api: Api, request: Request, user: User) -> Response:
    """Cases by student, guardian, phone's last digits or case id, with filters."""
    q = request.query_params
    text = q.get("q", "")
    if len(text) > MAX_TEXT:
        return error(400, "query_too_long", f"at most {MAX_TEXT} characters")
    got = _filters(q, tuple(STATES))
    if isinstance(got, Response):
        return got
    try:
        limit = int(q.get("limit", "20"))
    except ValueError:
        return error(400, "bad_limit", "limit must be a whole number")
    if not 1 <= limit <= MAX_RESULTS:
        return error(400, "bad_limit", f"limit must be 1..{MAX_RESULTS}")
    found = await CaseSearch(api.desk.store.engine).find(CaseQuery(
        text, got.get("kind"), got.get("state"), got.get("classroom"), limit))
    return JSONResponse({"query": text, **got, "results": [f.to_dict() for f in found]})


def queue_filters(params: Mapping[str, str]) -> dict[str, str] | Response:
    """The queue's filters from the query string (state: waiting, held or recovered)."""
    return _filters(params, QUEUE_STATES)


def filter_queue(view: dict[str, Any], filters: Mapping[str, str],
                 warn_ms: int) -> dict[str, Any]:
    """The queue view with only the matching items (ranks stay the whole queue's), each waiting
    one marked `sla_warning` when less than `warn_ms` is left before its service level."""

    def keep(item: Mapping[str, Any], held: bool) -> bool:
        state = filters.get("state")
        if (state == "waiting" and held) or (state == "held" and not held):
            return False
        if state == "recovered" and not item.get("recovered"):
            return False
        if filters.get("kind") and item.get("kind") != filters["kind"]:
            return False
        return not (filters.get("classroom") and
                    item.get("classroom_id") != filters["classroom"])

    waiting = []
    for rank, item in enumerate(view["waiting"], start=1):
        if keep(item, False):
            warn = not item["breached"] and item["sla_left_ms"] <= warn_ms
            waiting.append({**item, "rank": rank, "sla_warning": warn})
    return {**view, "waiting": waiting, "held": [h for h in view["held"] if keep(h, True)],
            "total_waiting": len(view["waiting"]), "filters": dict(filters),
            "sla_warn_ms": warn_ms}


async def family(api: Api, request: Request, user: User) -> Response:
    """The case's family (guardians with masked phones) and its chat transcript."""
    case = await api.desk.store.get(request.path_params["case_id"])
    if case is None:
        return error(404, "no_such_case", request.path_params["case_id"])
    view = CaseFamily(api.desk.store.engine)
    return JSONResponse({"case_id": case.case_id,
                         "family": await view.guardians(case.student_id),
                         "transcript": await view.transcript(case.case_id)})


async def clock(api: Api, request: Request, user: User) -> Response:
    """The desk's time and how much faster than real time it runs (the demo's speed)."""
    return JSONResponse({"now": api.desk.clock(), "speed": api.time_speed})
