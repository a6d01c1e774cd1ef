"""The runtime's side of one family, one case: incidents onto cases, when a case is over."""

from __future__ import annotations

from dataclasses import asdict

from detectors.records import Incident
from outreach.contact.metrics import OutreachMetrics
from outreach.contact.quiet import QuietBook, quiet_deadline
from outreach.decide.case import CaseEvent
from outreach.decide.decision import PolicyConfig
from outreach.store.case_joins import CaseJoins
from outreach.store.cases import CaseStore


def published(events: list[CaseEvent]) -> bool:
    """Was the case's outcome published since it last (re)opened? (A reopened case that
    closes again publishes its outcome again, with every joined incident counted.)"""
    since = max((i for i, e in enumerate(events) if e.kind == "reopened"), default=-1)
    return any(e.kind == "outcome_published" for e in events[since + 1 :])


class FamilyCases:
    """Puts incident records on their family's case and books when each case is over."""

    def __init__(self, cases: CaseStore, policy: PolicyConfig, metrics: OutreachMetrics) -> None:
        self.cases = cases
        self.joins = CaseJoins(cases)
        self.policy = policy
        self.metrics = metrics
        self.quiet = QuietBook()

    async def record(self, inc: Incident) -> tuple[str, bool]:
        """Put the incident record on its family's case; (case id, False if seen already)."""
        taken = await self.joins.take(inc, asdict(self.policy))
        case = taken.case
        if taken.fresh:
            if inc.state != "closed":
                self.quiet.drop(case.case_id)  # a problem again: the case is not over
                if not taken.created and case.state == "resolved":
                    await self.cases.transition(case.case_id, "open", reason="incident_joined")
            return case.case_id, True
        if inc.state == "open" or not await self.joins.update_once(inc):
            self.metrics.duplicates.labels("incident").inc()
            return case.case_id, False
        return case.case_id, True

    async def settle(self, case_id: str, lesson_end: int | None) -> bool:
        """Once every problem of the case is over and decided on, book when it closes."""
        # On Kafka the decision often arrives after the close (the policy waits for the
        # line verdict), and the outcome depends on it (e.g. covered by a line incident).
        case = await self.cases.get(case_id)
        if case is None or case.incident_ended_at is None or case.state == "closed":
            return False
        decided = {
            e.data.get("incident_id")
            for e in await self.cases.events_of(case_id, ("decision",))
        }
        if any(i.incident_id not in decided for i in await self.joins.incidents(case_id)):
            return False
        reopen = self.policy.case_reopen_ms
        self.quiet.set(case_id, quiet_deadline(case.incident_ended_at, reopen, lesson_end))
        return True
