"""SMS replies from families: find the family and its case, do what they asked, answer kindly.

- call me (`1`, yes, help, 帮忙): the case goes to the agents' call queue (the queue
  offers it to the family's last helper when free); a running contact chain stops.
- solved (`2`, ok, fixed, thanks, 好了): the case is resolved with `resolved_by_sms`.
- STOP (Twilio's opt-out words): the number gets no more SMS; START / UNSTOP undo it.
  Each counts once per MessageSid and only when no newer STOP / START is known (a
  replayed or late old STOP does not opt the family out again).
- anything else: the case goes to the queue for a person to read.
- an answer to a satisfaction follow-up (a score 1-5 and words, while one waits for its
  answer and no case of the family is open): stored by `FollowupAnswers` (once per
  MessageSid), thanked in the family's language.

The case is the family's newest open case, else one closed within `recent_ms`. A case
closed already cannot wait in the queue again, so a request about it opens a follow-up
case (`case-reply-<MessageSid>`) that does. A family asking for help (call me, or
anything unclear) with no such case is never ignored: a case of kind `family_request`
(same id scheme) opens for them and waits in the queue; "solved" with no case does
nothing. Every reply lands on the case's timeline (`sms_reply`, once per MessageSid:
Twilio may post a message twice, and opens one case).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

import structlog
from twilio.twiml.messaging_response import MessagingResponse

from outreach.contact.followup_answers import FollowupAnswers
from outreach.contact.metrics import OutreachMetrics
from outreach.decide.case import Case
from outreach.decide.case_states import Refusal
from outreach.decide.redact import mask_phone
from outreach.decide.sms_intents import InboundSms, SmsIntent, resubscribes, sms_intent, sms_signal
from outreach.decide.stages.retry_fallback import FAMILY_SAYS_FINE, Signal
from outreach.scripts.wording import DEFAULT_LANGUAGE, sms_reply_text
from outreach.store.cases import CaseStore
from outreach.store.optouts import Consent, SmsOptOuts
from outreach.store.sms_cases import (
    case_to_answer,
    family_languages,
    family_request,
    follow_up,
    opened_by,
    reply_sid,
    student_to_help,
)

log = structlog.get_logger(__name__)
RECENT_MS: Final = 24 * 3_600_000
ANSWERED: Final = frozenset(
    {"queued", "follow_up", "new_case", "resolved", "recorded", "duplicate"}
)


class FamilySignals(Protocol):
    """Where a family's answer goes (`CaseRuntime.family_signal`)."""

    async def family_signal(self, case_id: str, signal: Signal) -> None:
        """Tell the case's contact chain, or queue the case (`help`, `unclear`) when none runs."""
        ...


@dataclass(frozen=True, slots=True)
class Handled:
    """What became of one SMS: its intent, the result (a metric label), the case, language."""

    intent: SmsIntent
    result: str
    case_id: str | None = None
    language: str = DEFAULT_LANGUAGE
    text: str | None = None  # our own answer (a follow-up's thanks), else by intent


def reply_twiml(handled: Handled) -> str:
    """`<Response><Message>…</Message></Response>` in the family's language, or `<Response/>`."""
    response = MessagingResponse()
    text = handled.text or sms_reply_text(handled.intent, handled.language)
    if text is not None and (handled.result in ANSWERED or handled.text):
        response.message(text)
    return str(response.to_xml())


class SmsReplies:
    """The inbound SMS handler of `firstcall outreach` (see the module docstring)."""

    def __init__(
        self,
        cases: CaseStore,
        signals: FamilySignals,
        metrics: OutreachMetrics,
        *,
        recent_ms: int = RECENT_MS,
        policy: Mapping[str, Any] | None = None,
        followups: FollowupAnswers | None = None,
    ) -> None:
        self.cases = cases
        self.signals = signals
        self.metrics = metrics
        self.recent_ms = recent_ms
        self.policy = dict(policy or {})  # frozen on the cases a request opens
        self.opt_outs = SmsOptOuts(cases.engine, cases.clock)
        self.followups = followups

    async def __call__(self, sms: InboundSms) -> str:
        """Handle one SMS; the TwiML to answer Twilio with."""
        handled = await self.handle(sms)
        self.metrics.sms_replies.labels(handled.intent, handled.result).inc()
        log.info("sms_reply", intent=handled.intent, result=handled.result,
                 case_id=handled.case_id, from_number=mask_phone(sms.from_number))
        return reply_twiml(handled)

    async def handle(self, sms: InboundSms) -> Handled:
        """Act on one SMS (no metric, no TwiML)."""
        intent, phone = sms_intent(sms.body), sms.from_number
        if resubscribes(sms.body) or intent == "opt_out":
            action: Consent = "stop" if intent == "opt_out" else "start"
            applied = await self.opt_outs.record(phone, action, sms.message_sid, sms.sent_at_ms)
            if intent in ("opt_out", "opt_in"):
                done = "opted_out" if intent == "opt_out" else "opted_in"
                return Handled(intent, done if applied == "applied" else "duplicate")
        family = await self._family(phone)
        if not family:
            return Handled(intent, "unknown_sender")
        language = next(iter(family.values()))
        if self.followups is not None:
            sid = sms.message_sid or reply_sid(sms, self.cases.clock())
            answered = await self.followups.answer_sms(
                list(family), sms.body, sid, asks_for_help=intent == "callback_requested")
            if answered is not None:
                result = "duplicate" if answered.result == "duplicate" else "followup_answer"
                return Handled(intent, result, answered.case_id, language, answered.text)
        case = await self._case_of(list(family))
        if case is None and intent == "solved":
            return Handled(intent, "no_case", language=language)
        if case is None:
            return await self._request(family, sms, intent)
        if case.student_id in family:
            language = family[case.student_id]
        result, case_id = await self._act(case, sms, intent)
        return Handled(intent, result, case_id, language)

    async def _act(self, case: Case, sms: InboundSms, intent: SmsIntent) -> tuple[str, str]:
        events = await self.cases.timeline(case.case_id)
        if sms.message_sid and (
            opened_by(case, sms)  # its `sms_reply` may not be written yet
            or any(e.kind == "sms_reply" and e.data.get("message_sid") == sms.message_sid
                   for e in events)
        ):  # fmt: skip
            return "duplicate", case.case_id
        data = {"text": sms.body, "intent": intent, "message_sid": sms.message_sid,
                "from": mask_phone(sms.from_number)}
        await self.cases.add_event(case.case_id, "sms_reply", data,
                                   actor=f"family:{case.student_id}")
        if intent == "solved":
            return await self._solved(case), case.case_id
        signal = sms_signal(intent) or "unclear"
        if case.state == "closed":
            follow = (await follow_up(self.cases, case, sms, intent)).case.case_id
            await self.signals.family_signal(follow, signal)
            return "follow_up", follow
        if case.state == "resolved":  # it broke again after all: open it so it can wait
            await self.cases.transition(case.case_id, "open", reason="family_replied_by_sms")
        await self.signals.family_signal(case.case_id, signal)
        return "queued", case.case_id

    async def _request(self, family: dict[str, str], sms: InboundSms, intent: SmsIntent) -> Handled:
        """A family with no recent case asks for help: open a case and queue it."""
        student = await student_to_help(self.cases, list(family))
        opened = await family_request(self.cases, student, sms, intent, self.policy)
        case_id = opened.case.case_id
        if not opened.created:
            return Handled(intent, "duplicate", case_id, family[student])
        await self.signals.family_signal(case_id, sms_signal(intent) or "unclear")
        return Handled(intent, "new_case", case_id, family[student])

    async def _solved(self, case: Case) -> str:
        if case.state == "closed" or case.owner is not None:
            return "recorded"  # the outcome is out already, or an agent decides it
        if case.state != "resolved":
            moved = await self.cases.transition(
                case.case_id, "resolved", actor=f"family:{case.student_id}",
                outcome="resolved_by_sms", reason=FAMILY_SAYS_FINE,
            )  # fmt: skip
            if isinstance(moved, Refusal):
                return "recorded"
        await self.signals.family_signal(case.case_id, "fine")
        return "resolved"

    async def _family(self, phone: str) -> dict[str, str]:
        """Student id -> language of the guardian with this number (siblings share one)."""
        return await family_languages(self.cases, phone)

    async def _case_of(self, student_ids: list[str]) -> Case | None:
        """The newest open case of these students, else the newest closed lately."""
        return await case_to_answer(self.cases, student_ids, self.cases.clock() - self.recent_ms)
