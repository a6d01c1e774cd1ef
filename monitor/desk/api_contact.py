"""The agent's ways to reach a family from a case: call, SMS, a scheduled call back; resolve.

Resolving checks the outcome against the case's record (`outreach.decide.call_progress`):
"resolved by call" after a call nobody answered is refused with 409
`outcome_contradicts_record` unless the agent confirms it, and the confirmation is noted.
"""

from __future__ import annotations

from typing import Final, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from monitor.desk.api_base import Api, json_body, keep_chart, refused
from monitor.desk.auth import error
from outreach.decide.call_progress import contradiction
from outreach.decide.case_states import Refusal
from outreach.store.users import User

MAX_CALL_BACK_MIN: Final = 24 * 60


async def call(api: Api, request: Request, user: User) -> Response:
    """Ring the family's guardian through the phone provider (Twilio)."""
    return await _reach(api, request, user, "call")


async def sms(api: Api, request: Request, user: User) -> Response:
    """Send the family's guardian the case's SMS (one digit to answer)."""
    return await _reach(api, request, user, "sms")


async def _reach(api: Api, request: Request, user: User, channel: Literal["call", "sms"]
                 ) -> Response:
    case_id = request.path_params["case_id"]
    result = await api.desk.reach_guardian(case_id, user.name, channel)
    if isinstance(result, Refusal):
        return refused(result)
    api.changed(case_id)
    return JSONResponse({"case_id": case_id, "status": result.status,
                         "provider_id": result.provider_id, "reason": result.reason},
                        status_code=202 if result.ok else 502)


async def call_back(api: Api, request: Request, user: User) -> Response:
    """Note on the case when the agent will call the family back (in 1..1440 minutes)."""
    body = await json_body(request, ())
    if isinstance(body, Response):
        return body
    minutes = body.get("in_minutes", 15)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or \
            not 1 <= minutes <= MAX_CALL_BACK_MIN:
        return error(422, "bad_in_minutes", f"in_minutes must be 1..{MAX_CALL_BACK_MIN}")
    case_id = request.path_params["case_id"]
    due = api.desk.clock() + minutes * 60_000
    refusal = await api.desk.schedule_call_back(case_id, user.name, due)
    if refusal is not None:
        return refused(refusal)
    api.changed(case_id)
    return JSONResponse({"case_id": case_id, "due_at": due})


async def resolve(api: Api, request: Request, user: User) -> Response:
    """Close an owned case with an outcome code and a note (409 if it contradicts the record)."""
    body = await json_body(request, ("outcome",))
    if isinstance(body, Response):
        return body
    note = body.get("note", "")
    if not isinstance(note, str) or len(note) > 2000:
        return error(422, "bad_note", "note must be a string of at most 2000 characters")
    confirm = body.get("confirm", False)
    if not isinstance(confirm, bool):
        return error(422, "bad_confirm", "confirm must be true or false")
    case_id = request.path_params["case_id"]
    case = await api.desk.store.get(case_id)
    if case is not None and case.owner == user.name:
        why = contradiction(str(body["outcome"]), await api.desk.store.timeline(case_id),
                            case.incident_ended_at is not None)
        if why is not None and not confirm:
            return error(409, "outcome_contradicts_record", why)
        if why is not None:
            await api.desk.store.add_event(case_id, "outcome_confirmed",
                                           {"outcome": body["outcome"], "despite": why},
                                           actor=user.name)
    await keep_chart(api, case_id, user.name)
    result = await api.desk.queue.resolve(case_id, user.name, str(body["outcome"]), note)
    if isinstance(result, Refusal):
        return refused(result)
    api.desk.metrics.resolved.labels(str(result.outcome)).inc()
    api.presence.idle(user.name)
    api.changed(case_id)
    return JSONResponse({"case_id": case_id, "state": result.state, "outcome": result.outcome,
                         "lesson_minutes_lost": result.lesson_minutes_lost})
