"""The family's answer to a satisfaction follow-up: stored once, and followed up by a person.

An answer (an SMS, or a chat reply to the follow-up message) is stored on its follow-up
row and as a `satisfaction` event on the case, once per reply key (Twilio's MessageSid;
a hash of the family and the chat's reply id): a retried reply changes nothing, and a
family answers only its own follow-up. A late answer (days later, within
`answer_window_ms`) still attaches. A low score or a complaint opens a follow-up case
(`satisfaction-<case id>`, kind `satisfaction`, once) that waits in the agents' queue,
offered to the agent who owned the case (`FollowupStore.sticky_agents`), with a 24 h
service level; the desk shows the original case's whole history at its pickup.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

import structlog

from detectors.records import Incident
from outreach.channels.chat_gateway import ChatReply, ReplyHandler
from outreach.contact.followup import SATISFACTION, FollowupMetrics
from outreach.contact.ports import AgentQueue
from outreach.decide.case import Case
from outreach.decide.case_states import Refusal
from outreach.decide.clock import Clock, now_ms
from outreach.decide.followup import (
    Answer,
    FollowupConfig,
    FollowupReason,
    needs_person,
    read_answer,
    takes_reply,
)
from outreach.scripts.followup_wording import thanks_text
from outreach.store.cases import CaseIdTaken, CaseStore
from outreach.store.followups import SENT, Followup, FollowupStore

log = structlog.get_logger(__name__)
MAX_KEY: Final = 64  # characters of `followups.reply_sid`


def sms_reply_key(message_sid: str) -> str:
    """The reply key of an SMS: its MessageSid (34 characters), hashed if oddly long."""
    if len(message_sid) <= MAX_KEY:
        return message_sid
    return "sms-" + hashlib.sha256(message_sid.encode()).hexdigest()[:40]


def chat_reply_key(student_id: str, reply_id: str) -> str:
    """The reply key of a chat reply: its id is the app's own, unique per family only."""
    return "chat-" + hashlib.sha256(f"{student_id}/{reply_id}".encode()).hexdigest()[:40]


@dataclass(frozen=True, slots=True)
class Replied:
    """What became of one answer: `recorded`, `follow_up_case` or `duplicate`, and our reply."""

    result: str
    case_id: str
    text: str
    followup_case_id: str | None = None


class FollowupAnswers:
    """Takes families' answers to follow-ups (SMS and chat) into the case database."""

    def __init__(
        self,
        cases: CaseStore,
        metrics: FollowupMetrics,
        *,
        queue: AgentQueue | None = None,
        config: FollowupConfig | None = None,
        wall: Clock = now_ms,
    ) -> None:
        self.cases = cases
        self.metrics = metrics
        self.queue = queue
        self.config = config or FollowupConfig()
        self.wall = wall
        self.store = FollowupStore(cases.engine, wall)

    async def answer_sms(
        self, student_ids: list[str], text: str, reply_sid: str, *, asks_for_help: bool = False
    ) -> Replied | None:
        """An SMS from this family, as a follow-up answer; None when it is not one.

        It is one when a follow-up to the family waits for its answer (sent within the
        answer window), no case of the family is open (a live problem comes first), and it
        gives a score, or words that are not a plea for help (those open a request case).
        """
        reply_sid = sms_reply_key(reply_sid)
        done = await self.store.by_reply(reply_sid)
        if done is not None:
            return self._duplicate(done)
        now = self.wall()
        waiting = await self.store.awaiting(student_ids, now - self.config.answer_window_ms)
        if waiting is None or not takes_reply(read_answer(text), asks_for_help):
            return None
        for student in student_ids:
            if any(c.kind != SATISFACTION for c in await self.cases.active_for_student(student)):
                return None
        return await self.take(waiting, text, reply_sid)

    async def answer_chat(self, reply: ChatReply) -> bool:
        """A chat reply to a follow-up message (its case's follow-up was sent): taken, True."""
        if reply.case_id is None:
            return False
        key = chat_reply_key(reply.student_id, reply.reply_id)
        done = await self.store.by_reply(key)
        if done is not None:
            self._duplicate(done)
            return True
        followup = await self.store.get(reply.case_id)
        if followup is None or followup.state != SENT or followup.student_id != reply.student_id:
            return False  # one family never answers another's follow-up
        await self.take(followup, reply.text, key)
        return True

    async def take(self, f: Followup, text: str, reply_sid: str) -> Replied:
        """Store the answer once; open the follow-up case when it asks for a person."""
        answer = read_answer(text)
        if not await self.store.answer(f.case_id, answer, reply_sid, at=self.wall()):
            return self._duplicate(await self.store.get(f.case_id) or f)
        reason = needs_person(answer, self.config)
        data = {"score": answer.score, "comment": answer.comment, "agent": f.agent,
                "reply_id": reply_sid, "follow_up": reason}  # fmt: skip
        await self.cases.add_event(f.case_id, "satisfaction", data, actor=f"family:{f.student_id}")
        follow = None if reason is None else await self._follow_up(f, answer, reason)
        result = "recorded" if follow is None else "follow_up_case"
        self.metrics.answers.labels(str(answer.score or "none"), result).inc()
        log.info("followup_answered", case_id=f.case_id, score=answer.score, result=result)
        return Replied(result, f.case_id, thanks_text(f.language, follow is not None), follow)

    def _duplicate(self, f: Followup) -> Replied:
        self.metrics.answers.labels(str(f.score or "none"), "duplicate").inc()
        text = thanks_text(f.language, f.followup_case_id is not None)
        return Replied("duplicate", f.case_id, text, f.followup_case_id)

    async def _follow_up(self, f: Followup, answer: Answer, reason: FollowupReason) -> str | None:
        """Open (once) the case a person works on, and queue it for the case's agent."""
        original = await self.cases.get(f.case_id)
        if original is None:
            return None
        now = self.wall()
        evidence = {"follow_up_of": f.case_id, "score": answer.score, "comment": answer.comment,
                    "reason": reason, "agent": f.agent}  # fmt: skip
        inc = Incident(
            incident_id=f"{SATISFACTION}-{f.case_id}", kind=SATISFACTION,  # type: ignore[arg-type]
            state="closed", started_at=now, detected_at=now, ended_at=now, line={},
            evidence=evidence, session_id=original.session_id, student_id=f.student_id,
            classroom_id=original.classroom_id,
        )  # fmt: skip
        try:
            opened = await self.cases.open_case(inc, original.policy, at=now)
            case = opened.case
        except CaseIdTaken:  # the family has an open case: the note goes there, it waits
            active = await self.cases.active_for_student(f.student_id)
            if not active:
                raise
            case = active[0]
            await self.cases.add_event(case.case_id, "satisfaction_follow_up", evidence)
        await self._wait_for_agent(case, reason)
        await self.store.link_case(f.case_id, case.case_id)
        return case.case_id

    async def _wait_for_agent(self, case: Case, reason: str) -> None:
        if self.queue is not None:
            await self.queue.enqueue(case, reason)
        elif case.state != "waiting_agent":
            moved = await self.cases.transition(case.case_id, "waiting_agent", reason=reason)
            if isinstance(moved, Refusal):
                log.warning("followup_case_not_queued", case_id=case.case_id,
                            reason=moved.reason)


def answers_first(answers: FollowupAnswers, then: ReplyHandler) -> ReplyHandler:
    """A chat gateway reply handler: a follow-up's answer is taken, anything else goes on."""

    async def handle(reply: ChatReply) -> None:
        if not await answers.answer_chat(reply):
            await then(reply)

    return handle
