"""What every API handler shares: the dependencies, request bodies, refusals as answers."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse

from monitor.desk.auth import error
from monitor.desk.desk import Desk
from monitor.desk.hub import Hub
from monitor.desk.presence import Presence
from monitor.desk.queue_json import Encoded, EncodedViews
from monitor.desk.queue_reads import QueueReadCache, QueueReads, read_queue
from monitor.platform.settings_sections import ApiSection
from outreach.decide.case_states import Refusal
from outreach.decide.queue_rules import DEFAULT_SLA_MS, Agent
from outreach.store.users import UserStore

DEFAULT_SLA_WARN_MS: Final = ApiSection.defaults().sla_warn_s * 1000  # [api] sla_warn_s
READS_MAX_AGE_S: Final = 5.0  # the queue's reads kept at most this long between notices
VIEW_MAX_AGE_S: Final = 1.0  # the encoded queue view's waits and ages at most this old
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
    trust_notices: Callable[[], bool] = lambda: False  # every queue change is notified here
    queue_reads: QueueReadCache | None = None
    queue_views: EncodedViews | None = None

    def __post_init__(self) -> None:
        if self.queue_reads is None:
            self.queue_reads = QueueReadCache(lambda: read_queue(self.desk.queue))
        if self.queue_views is None:
            self.queue_views = EncodedViews()

    async def queue_json(self, filters: Mapping[str, str],
                         build: Callable[[], Any]) -> Encoded:
        """The queue view for these filters, encoded once for every console until it changes.

        Its version: the hub's changes (queue), who is online and idle, the pushes sent (a
        console refetching after one gets a view built after it) and, rebuilt at most once
        per push interval, the live views' records and the ring's in-class counts; its
        waits and ages are at most `VIEW_MAX_AGE_S` old when notices are trusted, else only
        concurrent requests share it.
        """
        assert self.queue_views is not None
        return await self.queue_views.get(
            tuple(sorted(filters.items())),
            (self.hub.version, self.presence.version, self.hub.pushes),
            VIEW_MAX_AGE_S if self.trust_notices() else 0.0, build,
            live=(self.desk.views_version, self.desk.ring.counts_version),
            live_age_s=self.hub.interval_s)

    async def reads(self) -> QueueReads:
        """The queue's database state: shared, and kept until a change when notices work."""
        assert self.queue_reads is not None
        return await self.queue_reads.get(self.hub.version,
                                          READS_MAX_AGE_S if self.trust_notices() else 0.0)

    async def agents(self, holding: dict[str, int] | None = None) -> list[Agent]:
        """Agents known to routing: online ones with what they hold."""
        if holding is None:
            holding = await self.desk.queue.holding()
        names = set(self.presence.online()) | set(holding)
        return [Agent(n, self.presence.is_online(n), holding.get(n, 0),
                      self.presence.idle_of(n)) for n in sorted(names)]

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


