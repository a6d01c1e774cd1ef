"""Goodwill offers in the console: list them; confirm or decline one with a reason.

A family's offer is decided by an agent, unless another agent holds the family's case; a
line incident's bulk offer (every family on the line) by ops, in one confirmation. A
viewer decides nothing.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from monitor.desk.api_base import Api, json_body, refused
from monitor.desk.auth import error
from outreach.decide.case_states import Refusal
from outreach.store.goodwill import GoodwillStore, Offer
from outreach.store.users import User

STATES: Final = ("proposed", "confirmed", "declined")
DECIDED_STATUS: Final = {"no_such_offer": 404, "already_decided": 409, "reason_required": 422,
                         "reason_too_long": 422, "unknown_decision": 422}


def _store(api: Api) -> GoodwillStore:
    return GoodwillStore(api.desk.store.engine, api.desk.clock)


async def offers(api: Api, request: Request, user: User) -> Response:
    """Goodwill offers, newest first (`?state=proposed|confirmed|declined`)."""
    state = request.query_params.get("state") or None
    if state is not None and state not in STATES:
        return error(400, "bad_state", f"state must be one of {', '.join(STATES)}")
    found = await _store(api).offers(state)
    return JSONResponse({"offers": [o.to_dict() for o in found]})


async def _who_may(api: Api, offer: Offer, user: User) -> Response | None:
    """None if `user` may decide `offer`, else the 403 that says why."""
    if offer.bulk:
        if user.role != "ops":
            return error(403, "ops_decides_bulk", "a line incident's offer is for ops")
        return None
    if user.role != "agent":
        return error(403, "agent_decides_family", "a family's offer is for an agent")
    case = await api.desk.store.get(offer.case_id)
    if case is not None and case.owner not in (None, user.name):
        return error(403, "not_your_case", f"{case.owner} holds this family's case")
    return None


async def confirm(api: Api, request: Request, user: User) -> Response:
    """Confirm an offer: the family is told and the school's scheduling system gets it."""
    return await _decide(api, request, user, "confirm")


async def decline(api: Api, request: Request, user: User) -> Response:
    """Decline an offer, with a reason."""
    return await _decide(api, request, user, "decline")


async def _decide(api: Api, request: Request, user: User, decision: str) -> Response:
    body = await json_body(request, ("reason",))
    if isinstance(body, Response):
        return body
    store = _store(api)
    case_id = request.path_params["case_id"]
    offer = await store.get(case_id)
    if offer is None:
        return error(404, "no_such_offer", case_id)
    denied = await _who_may(api, offer, user)
    if denied is not None:
        return denied
    got = await store.decide(case_id, decision, str(body["reason"]), user.name)
    if isinstance(got, Refusal):
        if got.reason in DECIDED_STATUS:
            return error(DECIDED_STATUS[got.reason], got.reason, got.detail)
        return refused(got)
    for cid in {got.case_id, *(m.case_id for m in got.members)}:
        api.changed(cid)
    api.hub.notify("goodwill")
    return JSONResponse(got.to_dict())
