"""The support desk's live views: incident and outreach records in, what the consoles show out.

The case runtime (`outreach.contact.runtime.CaseRuntime`, in `firstcall outreach` or in-process in
the demo) opens, contacts, queues and closes the cases. The desk only watches the same
records: live and line incidents, time to first contact, suppressions by reason, and it
puts the session's recent telemetry on the case (timeline snapshot, queue context). The
agents' commands go through the queue (`QueueStore`) and, for a call, the runtime's
voice channel and family directory (`AgentCalls`).
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from detectors.line_related import attach_related, outages
from detectors.records import Incident, Outreach, Record, case_id_for, line_id
from monitor.desk.desk_metrics import DeskMetrics
from monitor.desk.ring import TelemetryRing
from monitor.desk.trends import Trends
from outreach.channels.base import SendResult
from outreach.contact.agent_call import AgentCalls
from outreach.contact.waiting_caller import WaitingCallers
from outreach.decide.case import Case
from outreach.decide.case_states import Refusal
from outreach.decide.clock import Clock
from outreach.decide.decision import ChannelName
from outreach.store.case_snapshots import add_first_snapshot
from outreach.store.cases import CaseStore
from outreach.store.queue import QueueStore

log = structlog.get_logger(__name__)
Notify = Callable[[str], None]
SNAPSHOT_BEFORE_MS = 120_000
KEEP_CONTACTED = 20_000  # incidents remembered as contacted (the live views' memory bound)


def cause_of(inc: Incident) -> str:
    """A short cause label for reports: the fault and what decided it."""
    ev = inc.evidence
    if inc.kind == "lag":
        names = Counter(n for i in ev.get("intervals", []) for n in i.get("degraded", []))
        return f"lag: {names.most_common(1)[0][0]}" if names else "lag"
    if inc.kind == "disconnect":
        return f"disconnect: {ev.get('reason') or ev.get('cause') or 'unknown'}"
    if inc.kind == "line":
        return "line: " + line_id(inc.line)
    return inc.kind


def sessions_in_trouble(live: Iterable[Incident], lines: Iterable[Incident]) -> set[str]:
    """Sessions with a live incident of their own or under a line incident, each once."""
    out = {inc.session_id or inc.incident_id for inc in live}
    for line in lines:
        out.update(line.sessions or [])
    return out



def _with_members(known: Incident | None, inc: Incident) -> Incident:
    """The line incident's latest record, naming every session so far (an update or closed
    record names only those added since the previous one: contract 1.2)."""
    if known is None or inc.session_count is None:
        return inc
    have = set(known.sessions or [])
    added = [sid for sid in inc.sessions or [] if sid not in have]
    return replace(inc, sessions=[*(known.sessions or []), *added])


@dataclass
class DeskState:
    """What the desk keeps in memory for the live views."""

    live: dict[str, Incident] = field(default_factory=dict)
    lines: dict[str, Incident] = field(default_factory=dict)
    # ISP+region line incidents attached to an edge's outage (until they close)
    attached: dict[str, Incident] = field(default_factory=dict)
    contacted: dict[str, int] = field(default_factory=dict)  # incident id -> decided_at
    first_contact_ms: list[int] = field(default_factory=list)
    suppressed: Counter[str] = field(default_factory=Counter)
    escalated: Counter[str] = field(default_factory=Counter)  # the policy's escalations


class Desk:
    """Answers the live views from the records; keeps telemetry with the cases."""

    def __init__(
        self,
        store: CaseStore,
        queue: QueueStore,
        ring: TelemetryRing,
        clock: Clock,
        *,
        calls: AgentCalls | None = None,
        waiting: WaitingCallers | None = None,
        notify: Notify | None = None,
        metrics: DeskMetrics | None = None,
    ) -> None:
        self.store = store
        self.queue = queue
        self.ring = ring
        self.clock = clock
        self.calls = calls
        self.waiting = waiting
        self.notify = notify or (lambda _topic: None)
        self.notify_view: Notify = lambda topic: self.notify(topic)  # live views only
        self.metrics = metrics or DeskMetrics.create()
        self.state = DeskState()
        self.trends = Trends()
        # After a bulk close of a line incident's children, in one process with the runtime:
        # publish their outcomes and tell the families (else the outreach service does).
        self.after_children_closed: Callable[[], Awaitable[object]] | None = None
        self.views_version = 0  # records applied (what is derived from the views is stale)
        self._oldest: tuple[int, list[Incident]] = (-1, [])

    async def children_closed(self) -> None:
        """A line incident's children were closed in bulk."""
        if self.after_children_closed is not None:
            await self.after_children_closed()

    def oldest_live(self, n: int = 15) -> list[Incident]:
        """The `n` live incidents that started first (kept until the next record)."""
        if self._oldest[0] != self.views_version:
            found = heapq.nsmallest(n, self.state.live.values(), key=lambda i: i.started_at)
            self._oldest = (self.views_version, found)
        return self._oldest[1][:n]

    async def claimed(self, case_id: str, agent: str) -> str | None:
        """After a claim: put the case's caller waiting on the phone through to the agent."""
        if self.waiting is None:
            return None
        try:
            result = await self.waiting.claimed(case_id, agent)
        except Exception:  # the claim stands; the caller stays in the queue
            log.exception("waiting_caller_failed", case_id=case_id, agent=agent)
            result = "connect_failed"
        self.metrics.waiting_callers.labels(result).inc()
        return result

    async def apply(self, record: Record) -> None:
        """Take one incident or outreach record (after the runtime did, when in one process)."""
        if isinstance(record, Incident):
            await self._incident(record)
            st = self.state
            self.trends.add(self.clock(), {  # every incident record: no peak goes unseen
                "incidents": len(st.live) + len(outages(st.lines.values(), st.attached)),
                "sessions_in_trouble": len(sessions_in_trouble(st.live.values(),
                                                               st.lines.values()))})
        else:
            self._outreach(record)
            if record.action in ("call", "sms", "chat"):
                await self._contacted(record)
        self.views_version += 1
        self.notify_view("dashboard")
        self.notify_view("queue")

    async def _incident(self, inc: Incident) -> None:
        st = self.state
        case_id = case_id_for(inc.incident_id)
        if inc.kind == "line":
            if inc.state == "closed":
                st.lines.pop(inc.incident_id, None)
                st.attached.pop(inc.incident_id, None)
            else:
                st.lines[inc.incident_id] = _with_members(st.lines.get(inc.incident_id), inc)
                attach_related(st.lines.values(), st.attached)
                await self.queue.save_context(case_id, {"line": line_id(inc.line),
                                                        "cause": cause_of(inc)})
            return
        if inc.state == "open":
            st.live[inc.incident_id] = inc
            await self._snapshot(inc, case_id)
        elif inc.state == "update":
            st.live[inc.incident_id] = inc
        else:
            st.live.pop(inc.incident_id, None)

    async def snapshot(self, case_id: str, session_id: str, since: int, *,
                       first: bool = False) -> bool:
        """Copy the session's recent telemetry onto the case's timeline (False if none).

        `first`: only if the case has no snapshot yet (every replica applies the incident).
        """
        ctx = self.ring.context(session_id)
        series = self.ring.series(session_id, since=since)
        if ctx is None and not series["points"]["ts"]:
            return False
        data = {"context": ctx.to_dict() if ctx else None, **series}
        if first:
            return await add_first_snapshot(self.store, case_id, data, self.clock())
        refused = await self.store.add_event(case_id, "telemetry", data, at=self.clock())
        return refused is None

    async def _snapshot(self, inc: Incident, case_id: str) -> None:
        sid = inc.session_id or ""
        ctx = self.ring.context(sid)
        await self.snapshot(case_id, sid, inc.started_at - SNAPSHOT_BEFORE_MS, first=True)
        values: dict[str, Any] = {"session_id": sid, "classroom_id": inc.classroom_id,
                                  "line": line_id(inc.line), "cause": cause_of(inc)}
        if ctx is not None:
            values.update(teacher=ctx.teacher, device=ctx.device, os=ctx.os,
                          app_version=ctx.app_version, conn=ctx.conn, lesson_end=ctx.lesson_end)
        await self.queue.save_context(case_id, values)

    def _outreach(self, o: Outreach) -> None:
        if o.action == "none" or o.reason == "covered_by_line_incident":
            self.state.suppressed[o.reason] += 1
            self.metrics.suppressed.labels(o.reason).inc()
        elif o.reason.startswith("escalated_"):
            self.state.escalated[o.reason] += 1

    async def _contacted(self, o: Outreach) -> None:
        st = self.state
        if o.incident_id in st.contacted:
            return
        st.contacted[o.incident_id] = o.decided_at
        if len(st.contacted) > KEEP_CONTACTED:
            del st.contacted[next(iter(st.contacted))]
        inc = st.live.get(o.incident_id)
        case = None if inc else await self.store.get(o.case_id)
        started = inc.started_at if inc else (case.incident_started_at if case else None)
        if started is not None:
            st.first_contact_ms.append(max(0, o.decided_at - started))
            self.metrics.first_contact.observe(max(0, o.decided_at - started) / 1000)
            self.trends.add(self.clock(), {"first_contact_ms": max(0, o.decided_at - started)})
            del st.first_contact_ms[:-5000]

    async def call_guardian(self, case_id: str, agent: str) -> SendResult | Refusal:
        """The agent's click to call: ring the family's guardian through the runtime's phone."""
        return await self.reach_guardian(case_id, agent, "call")

    async def reach_guardian(self, case_id: str, agent: str,
                             channel: ChannelName) -> SendResult | Refusal:
        """Call or text the family's guardian for the agent holding the case."""
        case = await self._owned(case_id, agent)
        if isinstance(case, Refusal):
            return case
        if self.calls is None:
            return Refusal("no_phone_provider", "calls are not configured")
        return await self.calls.send(case, agent, channel)

    async def schedule_call_back(self, case_id: str, agent: str, at: int) -> Refusal | None:
        """Put the agent's promise to call the family back at `at` on the case's timeline."""
        case = await self._owned(case_id, agent)
        if isinstance(case, Refusal):
            return case
        return await self.store.add_event(case_id, "call_back_scheduled", {"due_at": at},
                                          actor=agent, at=self.clock())

    async def _owned(self, case_id: str, agent: str) -> Case | Refusal:
        case = await self.store.get(case_id)
        if case is None:
            return Refusal("no_such_case", case_id)
        if case.owner != agent:
            return Refusal("not_owner", str(case.owner))
        if case.student_id is None:
            return Refusal("no_family", case_id)
        return case
