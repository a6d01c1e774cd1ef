"""What the family allows, now: the gate for phone decisions and the reach of the next step.

Both read the family directory (do-not-call, phone, quiet hours in the family's
time zone) and the calls already made (from the case database, so the per-family
limits hold across worker partitions and restarts), under the policy frozen on the case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import structlog

from detectors.records import Outreach
from outreach.contact.dispatch import reachable_guardian
from outreach.decide.case import Case
from outreach.decide.clock import Clock
from outreach.decide.decision import Decision, DecisionContext, FamilyPrefs, PolicyConfig
from outreach.decide.family import Student, family_prefs
from outreach.decide.family_gate import gate, phone_context
from outreach.decide.stages.quiet_hours import in_quiet_hours
from outreach.decide.stages.retry_fallback import Reach
from outreach.store.cases import CaseStore
from outreach.store.contact_counts import local_day_start, phone_contacts
from outreach.store.directory import DirectoryStore

log = structlog.get_logger(__name__)


def frozen_policy(policy: Mapping[str, Any]) -> PolicyConfig:
    """The policy frozen on a case (fields PolicyConfig no longer knows are ignored)."""
    names = PolicyConfig.__dataclass_fields__
    return PolicyConfig(**{k: v for k, v in policy.items() if k in names})


class FamilyCheck:
    """Directory and call counts, as the gate and the fallback chain need them."""

    def __init__(self, cases: CaseStore, directory: DirectoryStore, wall: Clock) -> None:
        self.cases = cases
        self.directory = directory
        self.wall = wall

    async def _family(self, student_id: str) -> tuple[Student | None, FamilyPrefs | None]:
        student, stopped = await self.directory.with_opt_outs(student_id)
        if student is None:
            return None, None
        return student, replace(family_prefs(student), sms_opted_out=bool(stopped))

    async def _calls(self, student_id: str, room: str | None, prefs: FamilyPrefs | None) -> Any:
        tz = prefs.time_zone if prefs is not None else "UTC"
        day = local_day_start(self.wall(), tz)
        return await phone_contacts(self.cases.engine, student_id, room, day)

    async def gate(self, case: Case, o: Outreach, decision: Decision) -> Decision:
        """A phone decision re-checked (quiet hours, limits, do-not-call, SMS preference)."""
        _, prefs = await self._family(o.student_id)
        calls = await self._calls(o.student_id, case.classroom_id, prefs)
        ctx = DecisionContext(
            o.incident_id, case.kind, o.session_id, o.student_id, case.classroom_id or "",
            o.decided_at, o.decided_at, False, True, None, False, 0, 0,
        )  # fmt: skip
        gated = gate(decision, phone_context(ctx, prefs, calls), frozen_policy(case.policy))
        if gated != decision:
            data = {"action": gated.action, "reason": gated.reason, "was": decision.action}
            await self.cases.add_event(case.case_id, "gate", data, actor="policy")
            log.info("decision_gated", case_id=case.case_id, session_id=o.session_id, **data)
        return gated

    @staticmethod
    def case_reach(case: Case | None, *, closed: bool, covered: bool) -> Reach:
        """What the case alone says of the next step (no family limits read: none assumed)."""
        ended = case is None or case.incident_ended_at is not None or case.state == "closed"
        return Reach(notice_only=covered, incident_closed=closed or ended)

    async def reach(
        self, case: Case | None, o: Outreach, *, event_now: int, closed: bool, covered: bool
    ) -> Reach:
        """What limits the next phone contact of this case at `event_now`."""
        if covered:  # a line incident's family: the in-app notice is all it gets, so its
            # phone limits do not matter (no directory or call-count reads for each of them)
            return self.case_reach(case, closed=closed, covered=True)
        ended = case is None or case.incident_ended_at is not None or case.state == "closed"
        student, prefs = await self._family(o.student_id)
        quiet = bool(
            prefs is not None
            and prefs.quiet_start
            and prefs.quiet_end
            and in_quiet_hours(event_now, prefs.time_zone, prefs.quiet_start, prefs.quiet_end)
        )
        room = None if case is None else case.classroom_id
        lesson, day = await self._calls(o.student_id, room, prefs)
        cfg = frozen_policy({} if case is None else case.policy)
        return Reach(
            do_not_call=prefs is not None and prefs.do_not_call,
            has_phone=student is not None and reachable_guardian(student, "call") is not None,
            quiet_hours=quiet,
            calls_left=min(cfg.max_calls_per_lesson - lesson, cfg.max_calls_per_day - day),
            notice_only=covered,
            incident_closed=closed or ended,
            sms_opted_out=prefs is not None and prefs.sms_opted_out,
        )
