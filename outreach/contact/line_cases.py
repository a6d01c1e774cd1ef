"""Line incidents in the runtime as problems with children.

The line incident's case is one queue item for the infrastructure owner (reason
`line_incident`). Every family case the line incident covers is attached under it
(`outreach.store.line_problems`) and never becomes a queue item of its own: a covered
family that would be escalated (asked for help, nobody answered...) is attached with
that reason instead, counted as the suppression `under_line_incident`. Once the owner
closed the children in bulk and the line incident is over, each family is told once
that the class works again: in the app's chat when it is open (acknowledged), else by
SMS, never in the family's quiet hours, never to a do-not-call or STOP family. An
ISP+region line incident that names an edge (`related_to`, see `detectors.line_related`)
whose line case is open is attached under it as related, and not queued on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import structlog

from detectors.records import Incident, case_id_for, line_id
from outreach.channels.base import Channel, OutboundMessage, SendResult
from outreach.contact.dispatch import reachable_guardian
from outreach.contact.lines import LineBook, Outage
from outreach.contact.metrics import OutreachMetrics
from outreach.contact.ports import AgentQueue
from outreach.decide.case import Case
from outreach.decide.clock import Clock
from outreach.decide.decision import DO_NOT_CONTACT, QUIET_HOURS, SMS_OPTED_OUT, ChannelName
from outreach.decide.family import Student, family_prefs
from outreach.decide.redact import mask_phone
from outreach.decide.stages.quiet_hours import in_quiet_hours
from outreach.decide.stages.retry_fallback import NO_PHONE
from outreach.store.case_closing import chunks
from outreach.store.case_joins import CaseJoins
from outreach.store.cases import CaseStore
from outreach.store.directory import DirectoryStore
from outreach.store.line_problems import LineProblems
from outreach.store.optouts import SmsOptOuts
from outreach.store.unit import checkpoint

log = structlog.get_logger(__name__)
LINE_INCIDENT: Final = "line_incident"  # the line case's queue reason
UNDER_LINE_INCIDENT: Final = "under_line_incident"  # a family case held under it
COVERED: Final = "covered"  # attached because the line incident covers its problem
RELATED_LINE: Final = "related_line"  # an ISP line that fails only because its edge is down
LINE_OVER: Final = "line_over"  # why a family case under a finished line case closed
TELL_CHUNK: Final = 100  # families claimed (and committed) at once before they are told
Note = tuple[str, str, dict[str, Any]]  # an `all_clear` event: (case id, kind, data)


class LineCases:
    """Queues line cases, keeps covered families under them, tells families it is over."""

    def __init__(
        self,
        cases: CaseStore,
        directory: DirectoryStore,
        channels: Mapping[ChannelName, Channel],
        book: LineBook,
        metrics: OutreachMetrics,
        wall: Clock,
        all_clear_text: str,
    ) -> None:
        self.cases = cases
        self.problems = LineProblems(cases)
        self.joins = CaseJoins(cases)
        self.directory = directory
        self.channels = channels
        self.book = book
        self.metrics = metrics
        self.wall = wall
        self.text = all_clear_text
        self.opt_outs = SmsOptOuts(cases.engine)

    async def on_line(self, inc: Incident, queue: AgentQueue | None) -> None:
        """A line incident record: queue its case once, attach the families it covers."""
        line_case_id = case_id_for(inc.incident_id)
        line_case = await self.cases.get(line_case_id)
        if line_case is None:
            return
        await self._regroup()
        alone = await self.problems.line_of(line_case_id) is None  # not related to an edge's
        if (alone and inc.state != "closed" and queue is not None
                and line_case.state in ("open", "contacting")):
            await queue.enqueue(line_case, LINE_INCIDENT)
        since = inc.started_at - self.book.grace_ms
        found = await self.problems.open_cases_of(inc.sessions or [], since)
        new = set(await self.problems.attach_many(line_case_id, [c.case_id for c in found],
                                                  COVERED, self.wall()))
        for case in found:
            if case.case_id in new:
                await self._unqueue(case)

    async def outage_of(self, line_case_id: str, inc: Incident) -> Outage:
        """The outage this line incident is part of: the open line case whose page holds it
        (the edge an ISP+region line names, `related_to`, when the edge is down; for an edge,
        the first ISP line already open that names it; None: an outage of its own) and, for
        an edge, every ISP line already open that names it (its related lines)."""
        lines = [(c, line, ev) for c, line, ev in await self.problems.open_lines()
                 if c != line_case_id]
        if "isp" in inc.line:
            named = str(inc.evidence.get("related_to"))
            return Outage(next((c for c, line, _ in lines
                                if "edge" in line and line_id(line) == named), None))
        if "edge" in inc.line:
            me = line_id(inc.line)
            related = tuple((line_id(line), c) for c, line, ev in lines
                            if "isp" in line and ev.get("related_to") == me)
            return Outage(related[0][1] if related else None, related)
        return Outage()

    async def _regroup(self) -> None:
        """Attach every open ISP+region line case whose incident names an edge (`related_to`)
        under that edge's open line case, in whichever order the two records came."""
        lines = await self.problems.open_lines()
        edges = {line_id(line): case_id for case_id, line, _ in lines if "edge" in line}
        for case_id, _line, evidence in lines:
            parent = edges.get(str(evidence.get("related_to")))
            if parent is None or parent == case_id:
                continue
            if await self.problems.attach(parent, case_id, RELATED_LINE, self.wall()):
                case = await self.cases.get(case_id)
                if case is not None:
                    await self._unqueue(case)

    async def _unqueue(self, case: Case) -> None:
        """A family case waiting for an agent (nobody holds it yet) waits no more: its
        problem is the line's."""
        if case.state == "waiting_agent" and case.owner is None:
            await self.cases.transition(case.case_id, "contacting", reason=UNDER_LINE_INCIDENT,
                                        at=self.wall())

    async def attach_if_covered(self, case_id: str, inc: Incident) -> None:
        """A family's new problem that a line incident already covers: under its line case."""
        incident_id = self.book.covering(inc.session_id, inc.started_at)
        if incident_id is not None and await self.cases.get(case_id_for(incident_id)):
            await self.problems.attach(case_id_for(incident_id), case_id, COVERED, self.wall())

    async def hold(self, case: Case, reason: str) -> bool:
        """Instead of queueing a covered family's case: attach it under its line case.

        True when it was held (the case is not queued), False when no line incident covers it.
        """
        line_case_id = await self.problems.line_of(case.case_id)
        if line_case_id is not None:  # under a line incident that is still on
            line_case = await self.cases.get(line_case_id)
            if line_case is None or line_case.incident_ended_at is not None:
                line_case_id = None
        if line_case_id is None:  # or the family's latest problem is covered by one
            starts = [i.started_at for i in await self.joins.incidents(case.case_id)]
            latest = max(starts, default=case.incident_started_at)
            incident_id = self.book.covering(case.session_id, latest)
            if incident_id is None:
                return False
            line_case_id = case_id_for(incident_id)
            if await self.cases.get(line_case_id) is None:
                return False
        await self.problems.attach(line_case_id, case.case_id, reason, self.wall())
        await self._unqueue(case)
        self.metrics.suppressions.labels(UNDER_LINE_INCIDENT).inc()
        log.info("escalation_held_under_line", case_id=case.case_id, line_case_id=line_case_id,
                 reason=reason)
        return True

    async def over_children(self, line_case_id: str) -> list[Case]:
        """Family cases under a finished line case whose own problem is over too: closed at
        once as an infrastructure incident, not `case_reopen_ms` later."""
        return [c.case for c in await self.problems.children(line_case_id)
                if c.case.kind != "line" and c.case.state != "closed"
                and c.case.incident_ended_at is not None]

    async def under_finished_line(self, case_id: str) -> bool:
        """Is this family case under a line case whose incident is over?"""
        line_case_id = await self.problems.line_of(case_id)
        line_case = None if line_case_id is None else await self.cases.get(line_case_id)
        return line_case is not None and line_case.incident_ended_at is not None

    async def tell_all_clear(self) -> list[str]:
        """Tell every family under a finished, bulk-closed line case that it works again."""
        told = []
        for line_case_id in await self.problems.all_clear_due():
            families = [c.case for c in await self.problems.children(line_case_id)
                        if c.case.kind != "line"]  # a related line: no family to tell
            for part in chunks(families, TELL_CHUNK):
                claimed = await self.problems.claim_telling(
                    line_case_id, [case.case_id for case in part], self.wall())
                if not claimed:
                    continue
                await checkpoint(self.cases.engine)  # in a batch: the claims committed first
                notes: list[Note] = []
                try:
                    for case in part:
                        if case.case_id in claimed:
                            await self._tell(case, notes)
                            told.append(case.case_id)
                finally:  # what was sent is on the timelines, even if a send failed after
                    await self.cases.add_events(notes, at=self.wall())
        return told

    async def _tell(self, case: Case, notes: list[Note]) -> None:
        """One family, once: chat when the app acknowledges it, else SMS when allowed."""
        n = 0
        result: SendResult | None = None
        chat = self.channels.get("chat")
        if chat is not None and case.student_id:
            n += 1
            result = await chat.send(self._message(case, "chat", None, n))
            notes.append(self._note(case, "chat", result, None))
            if result.status == "delivered":
                return
        student = await self.directory.get(case.student_id or "")
        block = await self._sms_block(student)
        if block is not None:
            self.metrics.suppressions.labels(block).inc()
            notes.append(self._note(case, "sms", None, block))
            return
        guardian = None if student is None else reachable_guardian(student, "sms")
        sms = self.channels.get("sms")
        if sms is None or guardian is None:
            notes.append(self._note(case, "sms", None, NO_PHONE))
            return
        result = await sms.send(self._message(case, "sms", guardian.phone, n + 1))
        notes.append(self._note(case, "sms", result, None, to=guardian.phone))

    def _message(self, case: Case, channel: ChannelName, to: str | None, n: int) -> OutboundMessage:
        return OutboundMessage(
            message_id=f"{case.case_id}:all-clear:{channel}:{n}", case_id=case.case_id,
            student_id=case.student_id or "", channel=channel, fault="line", to=to,
            language="en", text=self.text)

    async def _sms_block(self, student: Student | None) -> str | None:
        """Why no SMS may go to this family now (None: it may)."""
        if student is None:
            return NO_PHONE
        prefs = family_prefs(student)
        if prefs.do_not_call:
            return DO_NOT_CONTACT
        if prefs.quiet_start and prefs.quiet_end and in_quiet_hours(
                self.wall(), prefs.time_zone, prefs.quiet_start, prefs.quiet_end):
            return QUIET_HOURS
        if await self.opt_outs.opted_out(g.phone for g in student.guardians):
            return SMS_OPTED_OUT
        return None

    def _note(self, case: Case, channel: ChannelName, result: SendResult | None,
              skipped: str | None, *, to: str | None = None) -> Note:
        """The `all_clear` event of one try (written with the others: `add_events`)."""
        data: dict[str, Any] = {"channel": channel}
        if result is not None:
            self.metrics.attempts.labels(channel, result.status).inc()
            data.update(status=result.status, reason=result.reason, to=mask_phone(to))
        else:
            data.update(status="skipped", reason=skipped)
        log.info("all_clear", case_id=case.case_id, **data)
        return (case.case_id, "all_clear", data)
