"""What every API handler shares: the dependencies, request bodies, refusals as answers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse

from monitor.desk.auth import error
from monitor.desk.desk import Desk
from monitor.desk.hub import Hub, Presence
from monitor.platform.settings_sections import ApiSection
from outreach.decide.case_states import Refusal
from outreach.decide.queue_rules import DEFAULT_SLA_MS, Agent
from outreach.store.users import UserStore

DEFAULT_SLA_WARN_MS: Final = ApiSection.defaults().sla_warn_s * 1000  # [api] sla_warn_s
REFUSAL_STATUS: Final[dict[str, int]] = {
    "no_such_case": 404,
    "unknown_outcome": 422,
    "same_agent": 422,
    "no_phone_provider": 503,
    "no_reachable_phone": 422,
}


@dataclass
class Api:
    """The API's dependencies."""

    desk: Desk
    users: UserStore
    presence: Presence
    hub: Hub
    sla_ms: int = DEFAULT_SLA_MS
    sla_warn_ms: int = DEFAULT_SLA_WARN_MS  # amber on a queued case this long before its SLA
    time_speed: float = 1.0  # how much faster than real time the desk's clock runs (demo)

    async def agents(self) -> list[Agent]:
        """Agents known to routing: online ones with what they hold."""
        holding = await self.desk.queue.holding()
        names = set(self.presence.online()) | set(holding)
        return [Agent(n, n in self.presence.connections, holding.get(n, 0),
                      self.presence.idle_since.get(n, 0)) for n in sorted(names)]

    def changed(self, case_id: str) -> None:
        """Tell the consoles about a change to a case."""
        self.hub.notify("queue")
        self.hub.notify(f"case:{case_id}")
        self.hub.notify("dashboard")


def refused(r: Refusal) -> JSONResponse:
    """The HTTP answer to a refusal (409 for conflicts unless mapped)."""
    return error(REFUSAL_STATUS.get(r.reason, 409), r.reason, r.detail)


async def json_body(request: Request, required: tuple[str, ...]) -> dict[str, Any] | JSONResponse:
    """The request's JSON object, or a 400/422 saying what is wrong."""
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return error(400, "bad_json", "the body is not JSON")
    if not isinstance(body, dict):
        return error(400, "bad_json", "the body must be a JSON object")
    missing = [k for k in required if not isinstance(body.get(k), str) or not body[k]]
    if missing:
        return error(422, "missing_field", ", ".join(missing))
    return body


async def keep_chart(api: Api, case_id: str, agent: str) -> None:
    """Save the session's telemetry as it is now onto the agent's case (it outlives the ring)."""
    case = await api.desk.store.get(case_id)
    if case is not None and case.session_id and case.owner == agent:
        await api.desk.snapshot(case_id, case.session_id, case.incident_started_at - 120_000)


