"""The case runtime: incidents and decisions in; family cases, contacts and outcomes out.

One family, one case (contract 1.1): an incident joins its student's open case or opens
one (`outreach.store.case_joins`, race-free in the database); the case closes with one
outcome once the student has been fine for `case_reopen_ms` (event time) or the lesson
ended. Idempotent by incident id: a redelivered incident adds nothing to its case, and a
redelivered decision is recorded and carried out once (the case timeline is the memory,
so this holds across restarts too).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import replace

import structlog

from detectors.records import Incident, Outreach
from outreach.channels.base import Channel
from outreach.channels.chat_gateway import ChatReply
from outreach.contact.chain import ESCALATIONS, ContactChain, Limits
from outreach.contact.chain_tasks import ChainTasks
from outreach.contact.chat_routing import route_reply
from outreach.contact.early import EarlyDecisions
from outreach.contact.family import FamilyCheck
from outreach.contact.family_cases import FamilyCases
from outreach.contact.finishing import CaseFinisher
from outreach.contact.line_cases import LINE_OVER, LineCases
from outreach.contact.lines import LineBook, Pager, page_once
from outreach.contact.locks import KeyedLocks
from outreach.contact.metrics import OutreachMetrics
from outreach.contact.notice_batch import notice_lane
from outreach.contact.outcome_sink import OutcomeSink
from outreach.contact.ports import AgentQueue, RuntimeConfig
from outreach.contact.recovery import Recovery
from outreach.contact.signals import Letter, Mailbox
from outreach.decide.case import Case
from outreach.decide.clock import Clock, now_ms
from outreach.decide.decision import (
    COVERED_BY_LINE_INCIDENT,
    ChannelName,
    Decision,
    PolicyConfig,
)
from outreach.decide.signals import CallbackEvent, MenuChoice, callback_signal, reply_signal
from outreach.decide.stages.retry_fallback import Reach, Signal, next_step
from outreach.store.cases import CaseStore
from outreach.store.directory import DirectoryStore
from outreach.store.waiting import WaitingDecisions

log = structlog.get_logger(__name__)
__all__ = ["AgentQueue", "CaseRuntime", "Pager", "RuntimeConfig"]


class CaseRuntime:
    """Turns incident records and outreach decisions into cases, contacts and outcomes."""

    def __init__(
        self,
        cases: CaseStore,
        directory: DirectoryStore,
        channels: Mapping[ChannelName, Channel],
        sink: OutcomeSink,
        *,
        policy: PolicyConfig | None = None,
        config: RuntimeConfig | None = None,
        metrics: OutreachMetrics | None = None,
        pager: Pager | None = None,
        queue: AgentQueue | None = None,
        wall: Clock = now_ms,
    ) -> None:
        self.cases = cases
        self.directory = directory
        self.sink = sink
        self.policy = policy or PolicyConfig()
        self.config = config or RuntimeConfig()
        self.metrics = metrics or OutreachMetrics.create()
        self.pager = pager
        self.wall = wall
        self.mailbox = Mailbox()
        self.chain = ContactChain(
            cases,
            directory,
            channels,
            self.mailbox,
            self.metrics,
            self._reach,
            self._escalate,
            self.config.waits,
            self._context,
            lane=notice_lane(self.config, cases, directory, channels, self.metrics),
        )
        self.chains = ChainTasks(self.chain, cases, self.mailbox, wall,
                                 self.config.close_wait_s)  # fmt: skip
        self.tasks = self.chains.tasks  # running chains, by case id
        self.family = FamilyCases(cases, self.policy, self.metrics)
        self.joins, self.quiet = self.family.joins, self.family.quiet
        self._locks = KeyedLocks(cases)
        self.early = EarlyDecisions(WaitingDecisions(cases.engine), self.metrics, wall)
        self.lines = LineBook(self.policy.line_coverage_grace_ms)
        self.paged: set[str] = set()  # line cases paged for (forgotten when they close)
        self.gate = FamilyCheck(cases, directory, wall)
        self.line_cases = LineCases(cases, directory, channels, self.lines, self.metrics, wall,
                                    self.policy.all_clear_text)
        self.finisher = CaseFinisher(cases, self.family, self.lines, self.line_cases, self.chains,
                                     self._locks, sink, self.metrics, wall, queue)
        self.recovery = Recovery(cases, channels, self.metrics, self.mailbox,
                                 settle=self.finisher.settle,
                                 start=self.chains.start, escalate=self._escalate)  # fmt: skip

    @property
    def queue(self) -> AgentQueue | None:
        """The technicians' queue (None: an escalated case waits for an agent in the database)."""
        return self.finisher.queue

    @queue.setter
    def queue(self, queue: AgentQueue | None) -> None:
        self.finisher.queue = queue

    @property
    def event_now(self) -> int:
        """The newest event time seen in a record."""
        return self.finisher.event_now

    # -- records in ----------------------------------------------------------------

    async def handle(self, record: Incident | Outreach) -> None:
        """Take one record of `support.incidents` (or a decision)."""
        seen = record.decided_at if isinstance(record, Outreach) else record.detected_at
        self.finisher.saw(max(seen, getattr(record, "ended_at", None) or 0))
        if isinstance(record, Outreach):
            await self.on_decision(record)
        else:
            await self.on_incident(record)
        await self.close_quiet(self.event_now)  # event time moved on: families fine since

    async def close_quiet(self, now: int | None = None) -> list[str]:
        """Close the cases whose students have been fine for `case_reopen_ms` by event time `now`
        (without `now`: the newest event time seen, moved on by the wall time since)."""
        return await self.finisher.close_quiet(now)

    async def close_stale(self, older_than_ms: int) -> list[str]:
        """Close cases left open past `older_than_ms` (unless an agent holds them)."""
        return await self.finisher.close_stale(older_than_ms)

    async def publish_pending(self, within_ms: int = 86_400_000) -> list[str]:
        """Publish outcomes of cases closed lately but not published (an agent closed them)."""
        return await self.finisher.publish_pending(within_ms)

    async def resume(self) -> list[str]:
        """Carry on the contact chains a stopped runner left half-way (at start-up)."""
        # Nothing announced is sent again; a send whose status never came is looked up
        # (`outreach/contact/recovery.py`).
        await self.early.load()
        return await self.recovery.resume(self.tasks)

    async def on_incident(self, inc: Incident) -> None:
        """Open or join the family's case, or update it (once per record)."""
        self.finisher.saw(max(inc.detected_at, inc.ended_at or 0))
        if inc.kind == "line":
            self.lines.take(inc)
        async with self._locked(f"student:{inc.student_id or inc.incident_id}"):
            case_id, fresh = await self.family.record(inc)
        if inc.kind == "line" and fresh and inc.state != "closed":
            async with self._locked(case_id):
                await page_once(self.pager, self.cases, self.metrics, case_id, inc, self.paged,
                                await self.line_cases.outage_of(case_id, inc))
        if inc.kind == "line":  # one queue item; the families it covers go under it
            await self.line_cases.on_line(inc, self.queue)
        elif fresh and inc.state == "open":
            await self.line_cases.attach_if_covered(case_id, inc)
        for decision in await self.early.take(inc.incident_id):
            await self.on_decision(decision)
        if inc.state == "closed" and inc.kind == "line":
            self.paged.discard(case_id)
            await self.finisher.finish(case_id)  # no decision comes for a line incident
            await self.finisher.finish_over(case_id)  # its families back already: infra_incident
            await self.line_cases.tell_all_clear()
        elif inc.state == "closed":
            case = await self.cases.get(case_id)
            if case is not None and case.incident_ended_at is not None:
                await self._stop_chain(case_id)  # nobody is contacted about a problem over
                if await self.line_cases.under_finished_line(case_id):
                    await self.finisher.finish(case_id, reason=LINE_OVER)  # back after the outage
                    return
            await self.finisher.settle(case_id)

    async def on_decision(self, o: Outreach) -> None:
        """Record the decision on its case and carry it out (once)."""
        case = await self.joins.case_of(o.incident_id)
        if case is None:  # the incident record has not arrived yet: wait for it, unbounded
            await self.early.keep(o)
            return
        if o.case_id != case.case_id:
            # The policy names another case than the database holds the incident on (e.g. it
            # forgot the family's case sooner): the database's case is the family's.
            o = replace(o, case_id=case.case_id, detail={**o.detail, "policy_case_id": o.case_id})
        async with self._locked(o.case_id):
            # its decisions and sends, and whether its incident is over: one read
            view = await self.family.joins.with_events(o.case_id, ("decision", "sending"),
                                                       incident_id=o.incident_id)
            events = view.events
            fresh = not any(
                e.kind == "decision" and e.data.get("incident_id") == o.incident_id for e in events
            )
            if fresh:
                data = {**o.to_dict(), "stage": o.detail.get("stage", "")}
                if "policy_case_id" in o.detail:
                    data["policy_case_id"] = o.detail["policy_case_id"]
                await self.cases.add_event(o.case_id, "decision", data, actor="policy")
            else:
                self.metrics.duplicates.labels("outreach").inc()
            # A decision never sends again once a send was announced for it (redelivery), nor
            # does a joined incident once the case was contacted, unless it escalates: then
            # its call or technician replaces the running chain.
            sent = [e.data.get("incident_id") for e in events if e.kind == "sending"]
            escalation = o.reason in ESCALATIONS
            ended = view.incident_over  # (the decision just noted changes nothing of it)
            may = not ended and o.incident_id not in sent and (escalation or not sent)
            running = self.chains.busy(o.case_id)
            if may and fresh and escalation and running:
                await self._stop_chain(o.case_id)
            busy = self.chains.busy(o.case_id)
            await self._carry_out(case, o, count=fresh, send=may and not busy)
        if ended:
            await self.finisher.settle(case.case_id)

    # -- signals from the family's side --------------------------------------------

    async def on_callback(self, event: CallbackEvent | MenuChoice) -> None:
        """A Twilio status callback or menu key (after `timeline_sink` recorded it)."""
        signal = callback_signal(event)
        if signal is None or not event.case_id:
            return
        posted = self.mailbox.post(event.case_id, Letter(event.message_id, signal))
        if not posted and signal == "help":
            await self._escalate(event.case_id, "family_asked_for_help")

    async def family_signal(self, case_id: str, signal: Signal) -> None:
        """The family answered outside the chat (an SMS): to the case's chain, else queue it."""
        if self.mailbox.post(case_id, Letter(None, signal)):
            return
        step = next_step("sms", signal, Reach())  # no chain: the step the family's answer asks
        if step.action == "agent_queue":
            await self._escalate(case_id, step.reason)

    async def on_reply(self, reply: ChatReply) -> None:
        """A chat reply: onto the case (resolving or queueing it), then to its chain."""
        if reply.case_id is None:
            return
        async with self._locked(reply.case_id):
            await route_reply(self.cases, reply)
        signal = reply_signal(reply.intent)
        if signal is None or self.mailbox.post(reply.case_id, Letter(None, signal)):
            return
        if signal == "help":
            await self._escalate(reply.case_id, "family_asked_for_help")

    # -- lifecycle -----------------------------------------------------------------

    @property
    def orphans(self) -> int:
        """Decisions still waiting for their incident record (kept in the database)."""
        return len(self.early)

    async def rolled_back(self, paged: set[str]) -> None:
        """A batch was rolled back: forget what it did in memory (`paged`: as before it)."""
        self.chains.rolled_back()
        self.paged = paged
        await self.early.load()  # the decisions it took from the waiting room are back there

    async def drain(self) -> None:
        """Wait until every running chain has finished."""
        await self.chains.drain()

    async def aclose(self) -> None:
        """Stop every chain (they resume from the timeline only as far as no resend)."""
        await self.recovery.aclose()
        await self.chains.cancel_all()
        if self.chain.lane is not None:
            await self.chain.lane.aclose()

    # -- internals -----------------------------------------------------------------

    def _locked(self, case_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold the case's (or student's) lock (in a batch: what it holds committed before
        waiting); forgotten once nobody holds or waits for it."""
        return self._locks.held(case_id)

    async def _carry_out(self, case: Case, o: Outreach, *, count: bool, send: bool) -> None:
        decision = Decision(o.action, o.reason)
        if decision.action in ("call", "sms") and (count or send):
            decision = await self.gate.gate(case, o, decision)
        if count:
            self.metrics.decisions.labels(decision.action, decision.reason).inc()
            if decision.action == "none" or decision.reason == COVERED_BY_LINE_INCIDENT:
                self.metrics.suppressions.labels(decision.reason).inc()
        if not send or decision.action == "none" or case.state in ("resolved", "closed"):
            return
        if decision.action == "agent_queue":
            await self._escalate(case.case_id, decision.reason)
            return
        self.chains.start(case.case_id, o, decision.action)

    async def _reach(self, case_id: str, o: Outreach, closed: bool) -> tuple[Reach, Limits]:
        """What the case says of the next step now, and how to read the family's phone limits
        (only a step to a call or an SMS needs them)."""
        case = await self.cases.get(case_id)
        event_now = o.decided_at + self.wall() - self.chains.started.get(case_id, self.wall())
        covered = o.reason == COVERED_BY_LINE_INCIDENT or (
            case is not None and self.lines.covers(o.session_id, case.incident_started_at)
        )

        async def limits() -> Reach:
            return await self.gate.reach(case, o, event_now=event_now, closed=closed,
                                         covered=covered)  # fmt: skip

        return self.gate.case_reach(case, closed=closed, covered=covered), limits

    async def _context(self, case_id: str) -> tuple[str | None, str | None]:
        """The family's device and connection type for the words of the next contact."""
        return (None, None) if self.queue is None else await self.queue.context(case_id)

    async def _escalate(self, case_id: str, reason: str) -> None:
        """Hand the case to the technicians' queue."""
        case = await self.cases.get(case_id)
        if case is None or case.state == "closed":
            return
        if case.kind != "line" and await self.line_cases.hold(case, reason):
            return  # a covered family is listed under its line case, never queued alone
        if self.queue is not None:
            await self.queue.enqueue(case, reason)
        elif case.state != "waiting_agent":
            await self.cases.transition(case_id, "waiting_agent", reason=reason)
        log.info("case_escalated", case_id=case_id, session_id=case.session_id, reason=reason)

    async def _stop_chain(self, case_id: str) -> None:
        await self.chains.stop(case_id)
