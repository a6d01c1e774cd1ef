"""The line incident as a problem: its view, the note to families, closing its children."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from monitor.desk.api_base import Api, json_body
from monitor.desk.auth import error
from monitor.desk.problem_view import MAX_NOTE, problem_view
from outreach.decide.case import Case
from outreach.store.line_problems import LineProblems
from outreach.store.users import User


async def _line_case(api: Api, request: Request) -> Case | Response:
    case = await api.desk.store.get(request.path_params["case_id"])
    if case is None:
        return error(404, "no_such_case", request.path_params["case_id"])
    if case.kind != "line":
        return error(409, "not_a_line_incident", case.case_id)
    return case


def _owner_only(case: Case, user: User) -> Response | None:
    if case.owner != user.name:
        return error(409, "not_owner", str(case.owner))
    return None


async def get_problem(api: Api, request: Request, user: User) -> Response:
    """The line incident as one problem with the families under it."""
    case = await _line_case(api, request)
    if isinstance(case, Response):
        return case
    return JSONResponse(await problem_view(api.desk, case))


async def note(api: Api, request: Request, user: User) -> Response:
    """The owner's note to the families (what they are told about the outage)."""
    case = await _line_case(api, request)
    if isinstance(case, Response):
        return case
    body = await json_body(request, ())
    if isinstance(body, Response):
        return body
    text = body.get("text")
    if not isinstance(text, str) or len(text) > MAX_NOTE:
        return error(422, "bad_note", f"text: a string of at most {MAX_NOTE} characters")
    if (refusal := _owner_only(case, user)) is not None:
        return refusal
    await api.desk.store.add_event(case.case_id, "family_note", {"text": text.strip()},
                                   actor=user.name, at=api.desk.clock())
    api.changed(case.case_id)
    return JSONResponse({"case_id": case.case_id, "note": text.strip()})


async def close_children(api: Api, request: Request, user: User) -> Response:
    """Close every open family case under the line incident with `infra_incident`."""
    case = await _line_case(api, request)
    if isinstance(case, Response):
        return case
    if (refusal := _owner_only(case, user)) is not None:
        return refusal
    closed = await LineProblems(api.desk.store).close_children(case.case_id, user.name,
                                                               api.desk.clock())
    await api.desk.children_closed()
    for case_id in closed:
        api.changed(case_id)
    api.changed(case.case_id)
    return JSONResponse({"case_id": case.case_id, "closed": closed,
                         "all_clear": "now" if case.incident_ended_at is not None
                         else "when the line incident is over"})
