"""One case's contact chain: send, wait for the family's side, take the next step.

chat unanswered -> call -> SMS -> agent queue, driven by real signals (chat
replies, Twilio status callbacks and menu keys) through the :class:`Mailbox`.
Every send is announced on the case timeline (`sending`) before it goes out,
so a redelivered decision never sends the same attempt twice. A covered family's notice
(its chat) is sent in bulk with the others waiting then (`notice_lane`, `notice_batch`: the
same events); its chain follows up alone. The words name the
family's own device (iPad, phone...) when the desk saw the session's join, and the
computer's otherwise. A chat about a lag of the family's own downlink offers a lighter
picture (`outreach.decide.remedy`); once the family took it, the chain waits the remedy
window: the problem over within it ends the chain (`recovered_after_remedy`), otherwise the
chain carries on with a call (`remedy_did_not_help`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import structlog

from detectors.records import Outreach
from outreach.channels.base import Channel, OutboundMessage, SendResult
from outreach.contact.dispatch import reachable_guardian
from outreach.contact.metrics import OutreachMetrics
from outreach.contact.notice_lane import NoticeLane
from outreach.contact.signals import Mailbox
from outreach.decide.case import CaseEvent
from outreach.decide.case_states import Refusal
from outreach.decide.decision import (
    COVERED_BY_LINE_INCIDENT,
    ESCALATED_DROPPED,
    ESCALATED_RECURRING,
    ChannelName,
)
from outreach.decide.redact import mask_phone
from outreach.decide.remedy import remedy_for
from outreach.decide.resume import Waiting
from outreach.decide.stages.retry_fallback import (
    REMEDY_APPLIED,
    Reach,
    Signal,
    Step,
    limits_matter,
    next_step,
)
from outreach.scripts.wording import Fault, known_device
from outreach.store.case_joins import CaseJoins
from outreach.store.cases import CaseStore
from outreach.store.directory import DirectoryStore

log = structlog.get_logger(__name__)
# Decisions that may contact a family whose case was contacted already (contract 1.1).
ESCALATIONS: Final = frozenset({ESCALATED_DROPPED, ESCALATED_RECURRING})
SUPPRESSING: Final = frozenset({"do_not_contact", "quiet_hours", "rate_limited"})
Limits = Callable[[], Awaitable[Reach]]  # the family's phone limits, read now
# case id, decision, closed -> what the case says (no limits), and how to read the limits
ReachOf = Callable[[str, Outreach, bool], Awaitable[tuple[Reach, Limits]]]
Escalate = Callable[[str, str], Awaitable[None]]
DeviceOf = Callable[[str], Awaitable[str | None]]  # case id -> the family's device, if known
# case id -> the family's device and the session's connection type, as far as known
ContextOf = Callable[[str], Awaitable[tuple[str | None, str | None]]]


@dataclass(frozen=True, slots=True)
class Waits:
    """How long to wait for the family's side after each channel (seconds)."""

    chat_s: float = 120.0
    call_s: float = 120.0
    sms_s: float = 600.0
    remedy_s: float = 60.0  # after the one-tap fix: the class must be fine again by then

    def of(self, channel: ChannelName) -> float:
        """The wait after a send on `channel`."""
        return {"chat": self.chat_s, "call": self.call_s, "sms": self.sms_s}[channel]


def first_signal(result: SendResult) -> Signal | None:
    """What a send result alone says: failed, delivered, or nothing yet (queued)."""
    if not result.ok:
        return "send_failed"
    return "delivered" if result.status == "delivered" else None


def fault_of(kind: str, reason: str) -> Fault:
    """Which script to use: a line notice, or the session's own problem."""
    if reason == COVERED_BY_LINE_INCIDENT or kind not in ("lag", "disconnect", "flapping"):
        return "line"
    return kind  # type: ignore[return-value]


def evidence_of(events: Sequence[CaseEvent], incident_id: str) -> Mapping[str, Any]:
    """The newest evidence the case timeline holds for `incident_id` ({} if none)."""
    for e in reversed(events):
        evidence = e.data.get("evidence")
        if e.data.get("incident_id") == incident_id and isinstance(evidence, Mapping):
            return evidence
    return {}


class ContactChain:
    """Runs chains for cases; one `run` per case at a time (the runner sees to that)."""

    def __init__(
        self,
        cases: CaseStore,
        directory: DirectoryStore,
        channels: Mapping[ChannelName, Channel],
        mailbox: Mailbox,
        metrics: OutreachMetrics,
        reach: ReachOf,
        escalate: Escalate,
        waits: Waits,
        context_of: ContextOf,
        *,
        lane: NoticeLane | None = None,
    ) -> None:
        self.cases = cases
        self.joins = CaseJoins(cases)
        self.directory = directory
        self.channels = channels
        self.mailbox = mailbox
        self.metrics = metrics
        self.reach = reach
        self.escalate = escalate
        self.waits = waits
        self.context_of = context_of
        # What the desk saw of each running chain's session, once found (it is saved once)
        self.seen: dict[str, tuple[str | None, str | None]] = {}
        self.lane = lane  # covered families' notices are sent in bulk (None: each alone)

    async def run(
        self,
        case_id: str,
        decision: Outreach,
        first: ChannelName,
        *,
        waiting: Waiting | None = None,
    ) -> None:
        """Contact the family on `first` (or carry on `waiting`), then follow the chain."""
        logger = log.bind(case_id=case_id, session_id=decision.session_id)
        channel: ChannelName = first
        self.mailbox.open(case_id)
        try:
            while True:
                if waiting is not None:
                    channel, message_id, signal = (
                        waiting.channel,
                        waiting.message_id,
                        waiting.signal,
                    )
                    waiting = None
                else:
                    sent = await self._send_step(case_id, decision, channel)
                    if sent is None:
                        return
                    message_id, signal = sent[0], first_signal(sent[1])
                step = await self._follow(case_id, decision, channel, message_id, signal)
                logger.info("fallback_step", channel=channel, step=step.action, reason=step.reason)
                if step.action == "agent_queue":
                    await self.escalate(case_id, step.reason)
                    return
                if step.action not in ("call", "sms"):
                    return
                channel = step.action
        finally:
            self.mailbox.close(case_id)
            self.seen.pop(case_id, None)

    def takes_turns(self, decision: Outreach) -> bool:
        """Does this decision's chain send its chat through the notice lane, in bulk with the
        other covered families' (a covered family's notice)?"""
        return (self.lane is not None and decision.reason == COVERED_BY_LINE_INCIDENT
                and decision.action == "chat" and "chat" in self.channels)

    async def _send_step(
        self, case_id: str, decision: Outreach, channel: ChannelName
    ) -> tuple[str, SendResult] | None:
        """A covered family's notice goes in the lane's next bulk send; any other send alone."""
        if self.lane is not None and channel == "chat" and self.takes_turns(decision):
            return await self.lane.send(case_id, decision)  # not while waiting for a reply
        return await self._send(case_id, decision, channel)

    async def _follow(
        self,
        case_id: str,
        decision: Outreach,
        channel: ChannelName,
        message_id: str,
        signal: Signal | None,
    ) -> Step:
        """Wait for signals after a send until the chain moves on."""
        closed = remedy = False
        while True:
            if signal is None:
                wait = self.waits.remedy_s if remedy else self.waits.of(channel)
                letter = await self.mailbox.next(case_id, message_id, wait)
                closed = letter is not None and letter.signal is None
                signal = "timeout" if letter is None or letter.signal is None else letter.signal
                if remedy and signal == "timeout":
                    signal = "remedy_worked" if closed else "remedy_failed"
            reach, limits = await self.reach(case_id, decision, closed)
            if limits_matter(channel, signal, reach):  # a call or SMS may be next: ask
                reach = await limits()
            step = next_step(channel, signal, reach)
            self.metrics.fallbacks.labels(channel, step.action, step.reason).inc()
            if step.action != "wait":
                break
            remedy = remedy or step.reason == REMEDY_APPLIED
            signal = None
        if step.reason in SUPPRESSING:
            self.metrics.suppressions.labels(step.reason).inc()
        data = {"channel": channel, "message_id": message_id, "signal": signal}
        await self.cases.add_event(
            case_id, "fallback", {**data, "step": step.action, "reason": step.reason}
        )
        return step

    async def _send(
        self, case_id: str, decision: Outreach, channel: ChannelName
    ) -> tuple[str, SendResult] | None:
        """Announce, send and record one attempt; None when the case may not be contacted."""
        covered = decision.reason == COVERED_BY_LINE_INCIDENT
        # The whole timeline only where a chat may offer a remedy (the incident's evidence)
        kinds = None if channel == "chat" and not covered else ("sending",)
        view = await self.joins.with_events(case_id, kinds)
        case, events = view.case, view.events
        if case is None or case.state in ("resolved", "closed"):
            return None
        student = await self.directory.get(decision.student_id)
        guardian = None if student is None else reachable_guardian(student, channel)
        n = sum(1 for e in events if e.kind == "sending")
        message_id = f"{case_id}:{channel}:{n + 1}"
        target = self.channels.get(channel)
        if target is None or (channel != "chat" and guardian is None):
            reason = "no_channel" if target is None else "no_reachable_guardian"
            await self.cases.add_event(
                case_id, "attempt_impossible", {"channel": channel, "reason": reason}
            )
            return message_id, SendResult("failed", reason=reason)
        moved = await self.cases.transition(case_id, "contacting", reason=decision.reason)
        if isinstance(moved, Refusal):
            return None
        announce: dict[str, object] = {
            "channel": channel, "message_id": message_id, "incident_id": decision.incident_id
        }
        remedy = None
        if channel == "chat":
            remedy = remedy_for(case.kind, evidence_of(events, decision.incident_id),
                                line_covered=covered)
            if remedy is not None:
                announce["remedy"] = remedy
        # Race-free across replicas: a first contact goes out once per family case.
        first = None if decision.reason in ESCALATIONS else decision.incident_id
        if not await self.joins.announce(case_id, announce, first_for=first):
            log.info("contact_taken", case_id=case_id, session_id=decision.session_id)
            return None
        device, conn = await self._context(case_id)
        language = guardian.language if guardian is not None else "zh-CN"
        if guardian is None and student is not None:
            language = student.language
        message = OutboundMessage(
            message_id=message_id,
            case_id=case_id,
            student_id=decision.student_id,
            channel=channel,
            fault=fault_of(case.kind, decision.reason),
            to=None if channel == "chat" or guardian is None else guardian.phone,
            device=known_device(device),
            language=language,
            conn=conn or "unknown",
            remedy=remedy,
        )
        result = await target.send(message)
        await self.cases.record_attempt(
            case_id,
            channel,
            {
                "message_id": message_id,
                "to": mask_phone(message.to),
                "status": result.status,
                "provider_id": result.provider_id,
                "reason": result.reason,
                "tries": result.attempts,
            },
        )
        self.metrics.attempts.labels(channel, result.status).inc()
        log.info(
            "attempt_sent",
            case_id=case_id,
            session_id=decision.session_id,
            channel=channel,
            status=result.status,
            to=mask_phone(message.to),
        )
        return message_id, result

    async def _context(self, case_id: str) -> tuple[str | None, str | None]:
        """The session's device and connection: looked up until the desk has saved them."""
        found = self.seen.get(case_id)
        if found is None:
            found = await self.context_of(case_id)
            if found != (None, None):
                self.seen[case_id] = found
        return found
