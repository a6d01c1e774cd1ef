"""The satisfaction follow-up, sent: schedule one per closed case that reached the family.

`FollowUps.sweep` (run by the service's sweep, every minute) finds cases closed lately
that reached the family, schedules each one's follow-up (`outreach.decide.followup`
says when), and sends those due: in-app chat when the class app is open, else SMS.
The database holds every step, so a restarted or second replica neither forgets nor
asks twice. Replies are `outreach.contact.followup_answers`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import structlog
from prometheus_client import CollectorRegistry, Counter

from outreach.channels.base import Channel, OutboundMessage
from outreach.contact.dispatch import reachable_guardian
from outreach.contact.ports import AgentQueue
from outreach.decide.case import Case
from outreach.decide.clock import Clock, now_ms
from outreach.decide.decision import ChannelName
from outreach.decide.family import Student
from outreach.decide.followup import (
    LATEST_MS,
    Family,
    FollowupConfig,
    Hold,
    Send,
    Suppress,
    due_at,
    local_day,
    next_step,
)
from outreach.scripts.followup_wording import followup_text
from outreach.scripts.wording import DEFAULT_LANGUAGE, Fault
from outreach.store.cases import CaseStore
from outreach.store.directory import DirectoryStore
from outreach.store.followups import Followup, FollowupStore, last_owner
from outreach.store.optouts import SmsOptOuts

log = structlog.get_logger(__name__)
FAULTS: Final = ("lag", "disconnect", "flapping", "line")
AppOpen = Callable[[str], bool]
SATISFACTION: Final = "satisfaction"  # the kind of a follow-up case (never followed up)


@dataclass(frozen=True, slots=True)
class FollowupMetrics:
    """The follow-up's counters (on the outreach runner's registry)."""

    steps: Counter
    answers: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> FollowupMetrics:
        """Register on `registry`."""
        return cls(
            steps=Counter("firstcall_followup_steps",
                          "Satisfaction follow-ups scheduled, sent, failed or skipped (by reason).",
                          ["step", "reason"], registry=registry),
            answers=Counter("firstcall_followup_answers",
                            "Follow-up answers by score (none: words only) and what was done "
                            "(recorded, follow_up_case, duplicate).",
                            ["score", "result"], registry=registry),
        )  # fmt: skip


def message_id_of(case_id: str) -> str:
    """The follow-up message's id (the chat reply's `in_reply_to`, the SMS's status key)."""
    return f"followup-{case_id}"


class FollowUps:
    """Schedules and sends the satisfaction follow-ups of closed cases."""

    def __init__(
        self,
        cases: CaseStore,
        directory: DirectoryStore,
        channels: Mapping[ChannelName, Channel],
        metrics: FollowupMetrics,
        *,
        queue: AgentQueue | None = None,
        config: FollowupConfig | None = None,
        app_open: AppOpen | None = None,
        wall: Clock = now_ms,
    ) -> None:
        self.cases = cases
        self.directory = directory
        self.channels = channels
        self.metrics = metrics
        self.queue = queue
        self.config = config or FollowupConfig()
        self.app_open = app_open
        self.wall = wall
        self.store = FollowupStore(cases.engine, wall)
        self.opt_outs = SmsOptOuts(cases.engine, wall)

    async def sweep(self, now: int | None = None) -> list[str]:
        """Schedule the follow-ups of cases closed in the last day; send the due ones (ids)."""
        now = self.wall() if now is None else now
        for case_id in await self.store.unscheduled(now - LATEST_MS):
            await self.schedule(case_id)
        sent = []
        for followup in await self.store.due(now):
            if await self._send(followup, now):
                sent.append(followup.case_id)
        return sent

    async def schedule(self, case_id: str) -> int | None:
        """Book the closed case's follow-up; when it is due (None: no follow-up for it)."""
        case = await self.cases.get(case_id)
        if case is None or case.state != "closed" or not case.student_id or case.attempts == 0:
            return None
        lesson_end = None if self.queue is None else await self.queue.lesson_end(case_id)
        due = due_at(case.closed_at or self.wall(), lesson_end, self.config)
        student = await self.directory.get(case.student_id)
        language = _language(student)
        agent = await last_owner(self.cases.engine, case_id)
        if await self.store.schedule(case_id, case.student_id, agent, due, language):
            await self.cases.add_event(case_id, "followup_scheduled",
                                       {"due_at": due, "agent": agent, "language": language})
            self.metrics.steps.labels("scheduled", "").inc()
            log.info("followup_scheduled", case_id=case_id, due_at=due)
        return due

    async def _family(self, f: Followup, student: Student | None, now: int) -> Family:
        if student is None:
            return Family()  # not in the directory: no way to reach them (no_channel)
        guardian = reachable_guardian(student, "sms")
        stopped = await self.opt_outs.opted_out(g.phone for g in student.guardians)
        first = student.guardians[0] if student.guardians else None
        open_cases = await self.cases.active_for_student(f.student_id)
        waiting = await self.store.awaiting([f.student_id], now - self.config.answer_window_ms)
        guardians = student.guardians
        return Family(
            do_not_contact=bool(guardians) and all(g.do_not_call for g in guardians),
            quiet=first is not None and first.is_quiet_at(now),
            in_class=any(c.kind != SATISFACTION for c in open_cases),
            app_open=self.app_open is not None and "chat" in self.channels
            and self.app_open(f.student_id),
            can_sms="sms" in self.channels and guardian is not None
            and guardian.phone not in stopped,
            asked_today=await self.store.asked_on(
                f.student_id, local_day(now, student.time_zone)),
            unanswered=waiting is not None and waiting.case_id != f.case_id,
        )  # fmt: skip

    async def _send(self, f: Followup, now: int) -> bool:
        student = await self.directory.get(f.student_id)
        step = next_step(now, f.due_at, await self._family(f, student, now))
        if isinstance(step, Hold):
            return False
        if isinstance(step, Suppress):
            if await self.store.skip(f.case_id, step.reason):
                await self.cases.add_event(f.case_id, "followup_skipped", {"reason": step.reason})
                self.metrics.steps.labels("skipped", step.reason).inc()
            return False
        assert student is not None  # a family not in the directory has no channel
        return await self._ask(f, student, step, now)

    async def _ask(self, f: Followup, student: Student, step: Send, now: int) -> bool:
        day = local_day(now, student.time_zone)
        if not await self.store.take(f.case_id, step.channel, day, at=now):
            self.metrics.steps.labels("skipped", "asked_today").inc()
            return False
        case = await self.cases.get(f.case_id)
        guardian = reachable_guardian(student, step.channel)
        phone = None if guardian is None else guardian.phone
        message = OutboundMessage(
            message_id=message_id_of(f.case_id), case_id=f.case_id, student_id=f.student_id,
            channel=step.channel, fault=_fault(case), to=phone,
            language=f.language, text=followup_text(f.language, step.channel),
        )  # fmt: skip
        result = await self.channels[step.channel].send(message)
        await self.store.sent(f.case_id, result.ok, result.reason)
        data = {"channel": step.channel, "status": result.status, "message_id": message.message_id,
                "provider_id": result.provider_id, "reason": result.reason}
        await self.cases.add_event(f.case_id, "followup_sent" if result.ok else "followup_failed",
                                   data)  # fmt: skip
        self.metrics.steps.labels("sent" if result.ok else "failed", step.channel).inc()
        log.info("followup_sent", case_id=f.case_id, channel=step.channel, status=result.status)
        return result.ok


def _language(student: Student | None) -> str:
    if student is None:
        return DEFAULT_LANGUAGE
    return student.guardians[0].language if student.guardians else student.language


def _fault(case: Case | None) -> Fault:
    kind = "lag" if case is None else case.kind
    return kind if kind in FAULTS else "lag"  # type: ignore[return-value]
