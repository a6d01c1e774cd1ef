"""The support desk, live: incident and outreach records in, cases and queue entries out.

Opens a case per session incident (with a snapshot of the session's recent
telemetry on its timeline), counts contacts and suppressions, and puts a case
in the call queue when it needs a person: an `agent_queue` decision, a call that
failed, or a problem still there `escalate_after_ms` after the family was reached.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError

from detectors.records import Incident, Outreach, Record, case_id_for, line_id
from monitor.desk.desk_metrics import DeskMetrics
from monitor.desk.ring import TelemetryRing
from outreach.channels.base import Channel, OutboundMessage, SendResult
from outreach.decide.case import Case
from outreach.decide.case_states import Refusal
from outreach.decide.clock import Clock
from outreach.decide.outcomes import Outcome
from outreach.decide.redact import mask_phone
from outreach.scripts.wording import known_device
from outreach.store.cases import CaseStore
from outreach.store.queue import QueueStore

log = structlog.get_logger(__name__)
PhoneLookup = Callable[[str], Awaitable[tuple[str, str | None, str]]]  # name, phone, language
Notify = Callable[[str], None]
SNAPSHOT_BEFORE_MS = 120_000


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


def percentile(values: list[int], q: float) -> int | None:
    """The q-quantile (nearest rank) of `values`, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


@dataclass
class DeskState:
    """What the desk keeps in memory for the live views."""

    live: dict[str, Incident] = field(default_factory=dict)
    lines: dict[str, Incident] = field(default_factory=dict)
    contacted: dict[str, int] = field(default_factory=dict)  # incident id -> decided_at
    queued: set[str] = field(default_factory=set)  # case ids
    recovered: dict[str, int] = field(default_factory=dict)  # case id -> ended_at
    first_contact_ms: list[int] = field(default_factory=list)
    suppressed: Counter[str] = field(default_factory=Counter)


class Desk:
    """Applies records to the case store and the queue; answers the live views."""

    def __init__(
        self,
        store: CaseStore,
        queue: QueueStore,
        ring: TelemetryRing,
        clock: Clock,
        *,
        call_channel: Channel | None = None,
        phone_of: PhoneLookup | None = None,
        escalate_after_ms: int = 30_000,
        recovered_grace_ms: int = 120_000,
        notify: Notify | None = None,
        metrics: DeskMetrics | None = None,
        owns_cases: bool = True,
    ) -> None:
        self.store = store
        self.queue = queue
        self.ring = ring
        self.clock = clock
        self.call_channel = call_channel
        self.phone_of = phone_of
        self.escalate_after_ms = escalate_after_ms
        self.recovered_grace_ms = recovered_grace_ms
        self.notify = notify or (lambda _topic: None)
        self.metrics = metrics or DeskMetrics.create()
        # False when the live outreach process keeps the cases: the desk then only
        # watches (live views, charts, context) and never opens, contacts or queues.
        self.owns_cases = owns_cases
        self.state = DeskState()

    async def apply(self, record: Record) -> None:
        """Take one incident or outreach record."""
        if isinstance(record, Incident):
            await self._incident(record)
        else:
            await self._outreach(record)

    async def _record(self, inc: Incident) -> Case | None:
        try:
            return await self.store.record_incident(inc, {}, at=self.clock())
        except IntegrityError:
            # Two incidents of one session that began at the same instant (a disconnect and
            # the flapping it starts) get the same case id: the later one joins that case.
            case = await self.store.get(case_id_for(inc.incident_id))
            if case is not None:
                await self.store.add_event(case.case_id, f"{inc.kind}_{inc.state}",
                                           inc.to_dict(), at=self.clock())
            log.info("incident_joined_case", incident_id=inc.incident_id,
                     case_id=case_id_for(inc.incident_id))
            return case

    async def _incident(self, inc: Incident) -> None:
        st = self.state
        case_id = case_id_for(inc.incident_id)
        if self.owns_cases:
            case = await self._record(inc)
            if case is None:
                return
            case_id = case.case_id
        if inc.kind == "line":
            if inc.state == "closed":
                st.lines.pop(inc.incident_id, None)
                if self.owns_cases:
                    await self.store.close(case_id, "infra_incident", reason="line recovered")
            else:
                st.lines[inc.incident_id] = inc
                await self.queue.save_context(case_id, {"line": line_id(inc.line),
                                                        "cause": cause_of(inc)})
            self.notify("dashboard")
            return
        if inc.state == "open":
            st.live[inc.incident_id] = inc
            await self._snapshot(inc, case_id)
        elif inc.state == "update":
            st.live[inc.incident_id] = inc
        else:
            st.live.pop(inc.incident_id, None)
            if self.owns_cases:
                st.recovered[case_id] = inc.ended_at or self.clock()
        self.notify("dashboard")
        if case_id in st.queued:
            self.notify("queue")

    async def snapshot(self, case_id: str, session_id: str, since: int) -> bool:
        """Copy the session's recent telemetry onto the case's timeline (False if none)."""
        ctx = self.ring.context(session_id)
        series = self.ring.series(session_id, since=since)
        if ctx is None and not series["points"]["ts"]:
            return False
        await self.store.add_event(
            case_id, "telemetry",
            {"context": ctx.to_dict() if ctx else None, **series}, at=self.clock())
        return True

    async def _snapshot(self, inc: Incident, case_id: str) -> None:
        sid = inc.session_id or ""
        ctx = self.ring.context(sid)
        await self.snapshot(case_id, sid, inc.started_at - SNAPSHOT_BEFORE_MS)
        values: dict[str, Any] = {"session_id": sid, "classroom_id": inc.classroom_id,
                                  "line": line_id(inc.line), "cause": cause_of(inc)}
        if ctx is not None:
            values.update(teacher=ctx.teacher, device=ctx.device, os=ctx.os,
                          app_version=ctx.app_version, conn=ctx.conn, lesson_end=ctx.lesson_end)
        await self.queue.save_context(case_id, values)

    async def _outreach(self, o: Outreach) -> None:
        st = self.state
        if self.owns_cases:
            refusal = await self.store.add_event(
                o.case_id, "outreach", {**o.to_dict(), **o.detail}, at=self.clock())
            if refusal is not None:
                return
        if o.action == "none" or o.reason == "covered_by_line_incident":
            st.suppressed[o.reason] += 1
            self.metrics.suppressed.labels(o.reason).inc()
            self.notify("dashboard")
        if o.action in ("call", "sms", "chat"):
            await self._contacted(o)
        if not self.owns_cases:
            return
        if o.action == "agent_queue":
            await self.enqueue(o.case_id, o.reason)
        elif o.action == "call":
            result = await self._place_call(o.case_id, o.student_id, actor="system")
            if result is not None and not result.ok:
                await self.enqueue(o.case_id, "call_failed")

    async def _contacted(self, o: Outreach) -> None:
        st = self.state
        if o.incident_id not in st.contacted:
            st.contacted[o.incident_id] = o.decided_at
            inc = st.live.get(o.incident_id)
            case = await self.store.get(o.case_id)
            started = inc.started_at if inc else (case.incident_started_at if case else None)
            if started is not None:
                st.first_contact_ms.append(max(0, o.decided_at - started))
                self.metrics.first_contact.observe(max(0, o.decided_at - started) / 1000)
                del st.first_contact_ms[:-5000]
        if not self.owns_cases:
            return
        await self.store.record_attempt(o.case_id, o.action, {"reason": o.reason},
                                        at=self.clock())
        case = await self.store.get(o.case_id)
        if case is not None and case.state == "open":
            await self.store.transition(o.case_id, "contacting", reason=o.action, at=self.clock())

    async def enqueue(self, case_id: str, reason: str) -> None:
        """Put a case in the call queue (once) and tell the consoles."""
        case = await self.store.get(case_id)
        if case is None or case_id in self.state.queued:
            return
        if await self.queue.enqueue(case, reason, at=self.clock()):
            self.state.queued.add(case_id)
            self.notify("queue")

    async def _place_call(self, case_id: str, student_id: str, actor: str) -> SendResult | None:
        if self.call_channel is None or self.phone_of is None:
            return None
        name, phone, language = await self.phone_of(student_id)
        fault = "lag"
        case = await self.store.get(case_id)
        if case is not None and case.kind in ("lag", "disconnect", "flapping", "line"):
            fault = case.kind
        ctx = self.ring.context(case.session_id or "") if case else None
        # The ring forgets (a restart); the device seen at the case's start stays with it.
        device = ctx.device if ctx else await self.queue.device(case_id)
        message = OutboundMessage(
            message_id=uuid.uuid4().hex, case_id=case_id, student_id=student_id, channel="call",
            fault=fault,  # type: ignore[arg-type]
            to=phone, device=known_device(device), language=language)
        result = await self.call_channel.send(message)
        await self.store.add_event(
            case_id, "call", {"to": mask_phone(phone), "guardian": name, "status": result.status,
                              "provider_id": result.provider_id, "reason": result.reason},
            actor=actor, at=self.clock())
        log.info("guardian_called", case_id=case_id, to=mask_phone(phone), status=result.status,
                 actor=actor)
        return result

    async def call_guardian(self, case_id: str, agent: str) -> SendResult | Refusal:
        """The agent's click to call: ring the family's first guardian through the provider."""
        case = await self.store.get(case_id)
        if case is None:
            return Refusal("no_such_case", case_id)
        if case.owner != agent:
            return Refusal("not_owner", str(case.owner))
        if case.student_id is None:
            return Refusal("no_family", case_id)
        result = await self._place_call(case_id, case.student_id, actor=agent)
        if result is None:
            return Refusal("no_phone_provider", "calls are not configured")
        await self.store.record_attempt(case_id, "call", {"by": agent}, at=self.clock())
        return result

    async def tick(self) -> None:
        """Escalate problems that outlived the contact; close recovered cases nobody took."""
        if not self.owns_cases:
            return
        st = self.state
        now = self.clock()
        for iid, contacted_at in list(st.contacted.items()):
            if iid in st.live and now - contacted_at >= self.escalate_after_ms:
                await self.enqueue(case_id_for(iid), "not_recovered_after_contact")
                st.contacted.pop(iid)
            elif iid not in st.live:
                st.contacted.pop(iid)
        still_on = {case_id_for(iid) for iid in st.live}
        for case_id, ended in list(st.recovered.items()):
            if case_id in still_on or (case_id in st.queued
                                       and now - ended < self.recovered_grace_ms):
                continue  # another incident of the case goes on, or the grace is not over
            st.recovered.pop(case_id)
            await self._close_recovered(case_id)

    async def _close_recovered(self, case_id: str) -> None:
        case = await self.store.get(case_id)
        if case is None or case.state == "closed" or case.owner is not None:
            return
        outcome: Outcome = "resolved_by_chat" if case.attempts else "self_recovered"
        done = await self.store.close(case_id, outcome, reason="recovered before an agent")
        if not isinstance(done, Refusal):
            self.metrics.resolved.labels(outcome).inc()
        if not isinstance(done, Refusal) and case_id in self.state.queued:
            self.state.queued.discard(case_id)
            await self.queue.drop(case_id, at=self.clock())
            self.notify("queue")

    def forget_queued(self, case_id: str) -> None:
        """An agent resolved the case: it is no longer the desk's to close."""
        self.state.queued.discard(case_id)
        self.state.recovered.pop(case_id, None)
