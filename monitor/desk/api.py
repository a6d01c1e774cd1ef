"""The HTTP API: one table of endpoints (method, path, permission, handler, doc).

The same table builds the routes, checks every request's role, and writes the
OpenAPI description, so no endpoint can be added without a permission.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from monitor.desk import api_contact, api_goodwill, api_problems, api_search
from monitor.desk.api_base import Api, json_body, keep_chart, refused
from monitor.desk.api_search import filter_queue, queue_filters
from monitor.desk.auth import authorize, error
from monitor.desk.followup_views import followups, helpers_for
from monitor.desk.queue_json import etag_matches
from monitor.desk.report_view import report_document
from monitor.desk.views import case_view, dashboard_view, queue_view
from monitor.report_format import csv_text, parse_since
from monitor.voc_format import title
from monitor.voc_html import body
from outreach.decide.outcomes import OUTCOMES
from outreach.decide.queue_rules import Agent, rank
from outreach.store.family_reports import build_family_report
from outreach.store.reports import GROUPS, build_report
from outreach.store.users import User
from outreach.store.voc import digest_for

log = structlog.get_logger(__name__)
Handler = Callable[["Api", Request, User], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One API endpoint and who may call it."""

    method: str
    path: str
    permission: str
    handler: Handler
    summary: str
    body: dict[str, Any] = field(default_factory=dict)  # JSON schema properties
    required: tuple[str, ...] = ()
    query: tuple[str, ...] = ()


async def me(api: Api, request: Request, user: User) -> Response:
    """Who the token belongs to."""
    return JSONResponse({"name": user.name, "role": user.role})


async def outcomes(api: Api, request: Request, user: User) -> Response:
    """The outcome codes a case may be resolved with."""
    return JSONResponse({"outcomes": list(OUTCOMES)})


async def get_queue(api: Api, request: Request, user: User) -> Response:
    """The ranked queue, filtered by kind, state and classroom when asked (ETag: 304 when
    the console already has it)."""
    filters = queue_filters(request.query_params)
    if isinstance(filters, Response):
        return filters

    async def build() -> dict[str, Any]:
        reads = await api.reads()
        view = await queue_view(api.desk, await api.agents(reads.holding), api.sla_ms, reads)
        return filter_queue(view, filters, api.sla_warn_ms)

    found = await api.queue_json(filters, build)
    headers = {"ETag": found.etag, "Cache-Control": "private, no-cache"}
    if etag_matches(request.headers.get("if-none-match"), found.etag):
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type="application/json", headers=headers)


async def take_next(api: Api, request: Request, user: User) -> Response:
    """Claim the best case offered to this agent (or the best unoffered one)."""
    rows = await api.desk.queue.rows(include_owned=False)
    helpers = await helpers_for(api.desk, rows)
    agents = [a for a in await api.agents() if a.name != user.name]
    agents.append(Agent(user.name, True, 0, 0))
    ranked = rank([r.waiting() for r in rows], api.desk.clock(), agents, helpers, api.sla_ms)
    for r in ranked:
        if r.offered_to in (user.name, None) and \
                await api.desk.queue.claim(r.entry.case_id, user.name) is None:
            await api.desk.claimed(r.entry.case_id, user.name)
            api.changed(r.entry.case_id)
            return JSONResponse({"case_id": r.entry.case_id})
    return error(404, "queue_empty", "no case is waiting for you")


async def _case_or_404(api: Api, request: Request) -> Any:
    case = await api.desk.store.get(request.path_params["case_id"])
    if case is None:
        return error(404, "no_such_case", request.path_params["case_id"])
    return case


async def get_case(api: Api, request: Request, user: User) -> Response:
    """Everything about a case at pickup."""
    case = await _case_or_404(api, request)
    if isinstance(case, Response):
        return case
    return JSONResponse(await case_view(api.desk, case))


async def claim(api: Api, request: Request, user: User) -> Response:
    """Take a waiting case; 409 if someone else has it."""
    case_id = request.path_params["case_id"]
    r = await api.desk.queue.claim(case_id, user.name)
    api.desk.metrics.claims.labels("won" if r is None else "conflict").inc()
    if r is not None:
        return refused(r)
    await keep_chart(api, case_id, user.name)
    await api.desk.claimed(case_id, user.name)
    api.changed(case_id)
    return JSONResponse({"case_id": case_id, "owner": user.name})


async def release(api: Api, request: Request, user: User) -> Response:
    """Put an owned case back in the queue."""
    case_id = request.path_params["case_id"]
    r = await api.desk.queue.release(case_id, user.name)
    if r is not None:
        return refused(r)
    api.presence.idle(user.name)
    api.changed(case_id)
    return JSONResponse({"case_id": case_id, "owner": None})


async def transfer(api: Api, request: Request, user: User) -> Response:
    """Hand an owned case to another agent."""
    body = await json_body(request, ("to",))
    if isinstance(body, Response):
        return body
    target = str(body["to"])
    if not any(u.name == target and u.role == "agent" for u in await api.users.list()):
        return error(422, "unknown_agent", target)
    case_id = request.path_params["case_id"]
    r = await api.desk.queue.transfer(case_id, user.name, target)
    if r is not None:
        return refused(r)
    api.presence.idle(user.name)
    api.changed(case_id)
    return JSONResponse({"case_id": case_id, "owner": target})


async def dashboard(api: Api, request: Request, user: User) -> Response:
    """The ops overview."""
    return JSONResponse(await dashboard_view(api.desk, await api.agents(), api.sla_ms))


async def _report_rows(api: Api, request: Request) -> tuple[str, list[Any]] | Response:
    q = request.query_params
    by = q.get("by", "classroom")
    if by not in GROUPS:
        return error(400, "bad_by", f"by must be one of {', '.join(GROUPS)}")
    now = api.desk.clock()
    try:
        since = parse_since(q.get("since", "24h"), now)
        until = parse_since(q["until"], now) if q.get("until") else None
    except ValueError as exc:
        return error(400, "bad_since", str(exc))
    return by, await build_report(api.desk.store.engine, by, since, now, until)


async def report(api: Api, request: Request, user: User) -> Response:
    """The report as JSON: rows by the slice, figures over time, time to first contact, SLA."""
    got = await _report_rows(api, request)
    if isinstance(got, Response):
        return got
    by, _ = got
    return JSONResponse(await report_document(api.desk.store.engine, by, request.query_params,
                                              api.desk.clock(), api.sla_ms))


async def report_csv(api: Api, request: Request, user: User) -> Response:
    """The report as a CSV download."""
    got = await _report_rows(api, request)
    if isinstance(got, Response):
        return got
    by, rows = got
    return Response(csv_text(rows, by), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="firstcall-{by}.csv"'})


async def voc_digest(api: Api, request: Request, user: User) -> Response:
    """The voice-of-the-customer digest of a period (previous period beside it)."""
    q = request.query_params
    now = api.desk.clock()
    try:
        since = parse_since(q.get("since", "7d"), now)
        until = parse_since(q["until"], now) if q.get("until") else now
    except ValueError as exc:
        return error(400, "bad_since", str(exc))
    try:
        digest = await digest_for(api.desk.store.engine, since, until)
    except ValueError as exc:
        return error(400, "bad_period", str(exc))
    return JSONResponse({"title": title(digest), "html": body(digest),
                         "problems": {team: [p.to_dict() for p in problems]
                                      for team, problems in digest.problems.items()}})
async def family_report(api: Api, request: Request, user: User) -> Response:
    """Contacts per family, recurring families (top 20 by minutes lost), escalations."""
    q, now = request.query_params, api.desk.clock()
    try:
        since = parse_since(q.get("since", "24h"), now)
        until = parse_since(q["until"], now) if q.get("until") else None
    except ValueError as exc:
        return error(400, "bad_since", str(exc))
    found = await build_family_report(api.desk.store.engine, since, now, until)
    return JSONResponse(found.to_dict())


_CASE = "/api/cases/{case_id}"
_GOODWILL = "/api/goodwill/{case_id}"
REPORT_QUERY = ("since", "until", "by")
ENDPOINTS: Final[tuple[Endpoint, ...]] = (
    Endpoint("GET", "/api/me", "me", me, "The caller's name and role"),
    Endpoint("GET", "/api/outcomes", "me", outcomes, "Outcome codes for resolving a case"),
    Endpoint("GET", "/api/queue", "queue:read", get_queue,
             "Cases waiting for an agent, by priority, with service-level timers (amber"
             " `sla_warning` before the SLA) and routing; filters kind, state, classroom; an"
             " ETag, and 304 for If-None-Match when unchanged",
             query=("kind", "state", "classroom")),
    Endpoint("GET", "/api/search", "case:read", api_search.search,
             "Cases by student, guardian, phone's last digits or case id (phones masked)",
             query=("q", "kind", "state", "classroom", "limit")),
    Endpoint("GET", "/api/clock", "me", api_search.clock,
             "The desk's time and its speed against real time (the demo runs faster)"),
    Endpoint("POST", "/api/queue/next", "case:act", take_next,
             "Claim the best case offered to me"),
    Endpoint("GET", _CASE, "case:read", get_case,
             "A case at pickup: telemetry, device, line, timeline, earlier cases, script"),
    Endpoint("GET", _CASE + "/family", "case:read", api_search.family,
             "The family before a call: guardians (masked phones) and the chat transcript"),
    Endpoint("POST", _CASE + "/claim", "case:act", claim, "Claim a waiting case (409 if taken)"),
    Endpoint("POST", _CASE + "/release", "case:act", release, "Put my case back in the queue"),
    Endpoint("POST", _CASE + "/transfer", "case:act", transfer, "Hand my case to another agent",
             body={"to": {"type": "string"}}, required=("to",)),
    Endpoint("POST", _CASE + "/resolve", "case:act", api_contact.resolve,
             "Close my case with an outcome code and a note (409 if it contradicts the record"
             " unless confirmed)",
             body={"outcome": {"type": "string", "enum": list(OUTCOMES)},
                   "note": {"type": "string", "maxLength": 2000},
                   "confirm": {"type": "boolean"}}, required=("outcome",)),
    Endpoint("POST", _CASE + "/call", "case:act", api_contact.call,
             "Call the family's guardian (Twilio); 502 with the reason when it failed"),
    Endpoint("POST", _CASE + "/sms", "case:act", api_contact.sms,
             "Send the family's guardian the case's SMS"),
    Endpoint("POST", _CASE + "/call-back", "case:act", api_contact.call_back,
             "Note when I will call the family back", body={"in_minutes": {"type": "integer"}}),
    Endpoint("GET", "/api/goodwill", "goodwill:read", api_goodwill.offers,
             "Goodwill offers (make-up lessons, credits) for lost lessons, newest first",
             query=("state",)),
    Endpoint("POST", _GOODWILL + "/confirm", "goodwill:act", api_goodwill.confirm,
             "Confirm an offer (a family's: an agent; a line incident's: ops): the family is "
             "told and the school's scheduling webhook gets it",
             body={"reason": {"type": "string", "maxLength": 500}}, required=("reason",)),
    Endpoint("POST", _GOODWILL + "/decline", "goodwill:act", api_goodwill.decline,
             "Decline an offer with a reason",
             body={"reason": {"type": "string", "maxLength": 500}}, required=("reason",)),
    Endpoint("GET", "/api/problems/{case_id}", "case:read", api_problems.get_problem,
             "A line incident as one problem: status, owner, sessions, classrooms, note, and"
             " the family cases under it"),
    Endpoint("POST", "/api/problems/{case_id}/note", "case:act", api_problems.note,
             "Set my line incident's note to the families",
             body={"text": {"type": "string", "maxLength": 500}}, required=("text",)),
    Endpoint("POST", "/api/problems/{case_id}/close-children", "case:act",
             api_problems.close_children,
             "Close every family case under my line incident with infra_incident; the families"
             " are told the class works again once the incident is over"),
    Endpoint("GET", "/api/dashboard", "dashboard:read", dashboard,
             "Live incidents, line heat map, queue figures, time to first contact, suppressions"),
    Endpoint("GET", "/api/reports", "report:read", report,
             "Incidents, lesson minutes lost, contacts, outcomes and top causes by group",
             query=REPORT_QUERY),
    Endpoint("GET", "/api/reports.csv", "report:read", report_csv, "The report as CSV",
             query=REPORT_QUERY),
    Endpoint("GET", "/api/reports/voc", "report:read", voc_digest,
             "The voice-of-the-customer digest per team: top problems, tables, SVG charts",
             query=("since", "until")),
    Endpoint("GET", "/api/followups", "queue:read", followups,
             "Satisfaction follow-ups: recent scores, follow-up cases waiting, scores per agent"),
    Endpoint("GET", "/api/reports/families", "report:read", family_report,
             "By family: contacts, recurring families (top 20 by minutes lost), escalations",
             query=("since", "until")),
)


def routes(api: Api) -> list[Route]:
    """Starlette routes for every endpoint, each behind its permission check."""

    def wrap(ep: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            user = await authorize(request, api.users, ep.permission)
            if isinstance(user, Response):
                log.info("api_refused", path=request.url.path, status=user.status_code)
                return user
            ids = {"user": user.name, "role": user.role, **request.path_params}
            with structlog.contextvars.bound_contextvars(**ids):
                return await ep.handler(api, request, user)

        endpoint.__name__ = ep.handler.__name__
        return endpoint

    return [Route(ep.path, wrap(ep), methods=[ep.method]) for ep in ENDPOINTS]
