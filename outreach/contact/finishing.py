"""Finishing the runtime's cases: when its family has been fine a while (event time), when it
was left open too long, when its line incident is over; each closed with one outcome, the
outcome published once committed, and what was kept of the case forgotten."""

from __future__ import annotations

import contextlib

import structlog

from outreach.contact.chain_tasks import ChainTasks
from outreach.contact.closing import close_case, close_cases, publish_all_committed
from outreach.contact.family_cases import FamilyCases, published
from outreach.contact.line_cases import LINE_OVER, LineCases
from outreach.contact.lines import LineBook
from outreach.contact.locks import KeyedLocks
from outreach.contact.metrics import OutreachMetrics
from outreach.contact.outcome_sink import OutcomeSink
from outreach.contact.ports import AgentQueue
from outreach.decide.case import Case, CaseEvent
from outreach.decide.clock import Clock
from outreach.decide.outcomes import OutcomeRecord
from outreach.store.cases import CaseStore

log = structlog.get_logger(__name__)


class CaseFinisher:
    """Closes the runtime's cases once they are over and publishes their outcomes."""

    def __init__(
        self,
        cases: CaseStore,
        family: FamilyCases,
        lines: LineBook,
        line_cases: LineCases,
        chains: ChainTasks,
        locks: KeyedLocks,
        sink: OutcomeSink,
        metrics: OutreachMetrics,
        wall: Clock,
        queue: AgentQueue | None,
    ) -> None:
        self.cases = cases
        self.family = family
        self.quiet = family.quiet
        self.lines = lines
        self.line_cases = line_cases
        self.chains = chains
        self.locks = locks
        self.sink = sink
        self.metrics = metrics
        self.wall = wall
        self.queue = queue  # the technicians' queue: lesson ends, a closed case leaves it
        self.event_now = 0  # the newest event time seen in a record
        self._event_wall = wall()  # wall time when event_now last moved

    def saw(self, event_time: int) -> None:
        """A record of `event_time` came: event time moves on to it (never back)."""
        if event_time > self.event_now:
            self.event_now, self._event_wall = event_time, self.wall()

    async def close_quiet(self, now: int | None = None) -> list[str]:
        """Close the cases whose students have been fine for `case_reopen_ms` by event time `now`.

        Without `now`: the newest event time seen, moved on by the wall time since (a quiet
        hour has no records to move it).
        """
        if now is None:
            now = self.event_now + max(0, self.wall() - self._event_wall)
        due = self.quiet.due(now)
        for case_id in due:
            await self.finish(case_id, reason="family_fine")
        return due

    async def close_stale(self, older_than_ms: int) -> list[str]:
        """Close cases left open past `older_than_ms` (unless an agent holds them)."""
        # The student never came back (minutes lost count up to the newest event time
        # seen), or no decision ever came.
        await self.close_quiet()
        stale = await self.cases.stale_cases(older_than_ms, now=self.wall())
        for case in stale:
            if case.incident_ended_at is None:
                await self.finish(
                    case.case_id, reason="incident_never_ended", until=self.event_now
                )
            else:
                await self.finish(case.case_id, reason="no_decision")
        self.lines.prune(self.event_now - older_than_ms)
        return [case.case_id for case in stale]

    async def publish_pending(self, within_ms: int) -> list[str]:
        """Publish outcomes of cases closed lately but not published (an agent closed them)."""
        found = await self.cases.closed_unpublished(since=self.wall() - within_ms)
        for case in found:
            await self.finish(case.case_id)
        await self.line_cases.tell_all_clear()  # families under line cases closed in bulk
        return [case.case_id for case in found]

    async def settle(self, case_id: str) -> None:
        """Once the case's problems are all over and decided on, book (or do) its closing."""
        lesson_end = None if self.queue is None else await self.queue.lesson_end(case_id)
        if await self.family.settle(case_id, lesson_end):
            await self.close_quiet(self.event_now)

    async def finish(
        self, case_id: str, *, reason: str = "incident_closed", until: int | None = None
    ) -> None:
        """The case is over: stop the chain, close the case with its outcome, publish it."""
        self.quiet.drop(case_id)
        await self.chains.stop(case_id)
        async with self.locks.held(case_id):
            case = await self.cases.get(case_id)
            if case is None:
                return
            events = await self.cases.timeline(case_id)
            if case.state == "closed":
                record = case.outcome_record()
            elif case.owner is not None:
                log.info("case_left_to_agent", case_id=case_id, owner=case.owner)
                return
            else:
                record = await self._close(case, events, reason, until)
            if record is not None and not published(events):
                await publish_all_committed(self.sink, self.cases, {case_id: record})
        if record is not None:  # the case is over: forget it
            self.chains.forget(case_id)
            self.locks.forget(case_id)

    async def finish_over(self, line_case_id: str) -> None:
        """Close the finished line's families whose own problem is over, together (`line_over`),
        as `finish` closes one; one an agent holds, or in use now, goes `finish`'s way."""
        over = await self.line_cases.over_children(line_case_id)
        free = [c for c in over if c.owner is None and not self.chains.busy(c.case_id)
                and not self.locks.lock(c.case_id).locked()]
        async with contextlib.AsyncExitStack() as held:
            for case in free:
                await held.enter_async_context(self.locks.lock(case.case_id))  # free: taken at once
                self.quiet.drop(case.case_id)
            closed = await close_cases(self.cases, self.queue, self.metrics, [
                (c, self.lines.covers(c.session_id, c.incident_started_at)) for c in free],
                reason=LINE_OVER)  # fmt: skip
            await publish_all_committed(self.sink, self.cases, {
                record.case_id: record for record, was_published in closed if not was_published})
        done = {record.case_id for record, _ in closed}
        for case_id in done:
            self.chains.forget(case_id)
            self.locks.forget(case_id)
        for case in over:
            if case.case_id not in done:
                await self.finish(case.case_id, reason=LINE_OVER)  # held ones are left so

    async def _close(
        self, case: Case, events: list[CaseEvent], reason: str, until: int | None
    ) -> OutcomeRecord | None:
        covered = self.lines.covers(case.session_id, case.incident_started_at)
        return await close_case(self.cases, self.family, self.queue, self.metrics, case, events,
                                reason=reason, until=until, covered=covered)  # fmt: skip
