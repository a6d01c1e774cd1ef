"""One family, one case (contract 1.1): which case an incident belongs to, in event time.

A student has at most one case at a time. An incident of a student whose case is
open, or closed less than `case_reopen_ms` ago, joins that case; otherwise it opens
a new one whose id is derived from the incident's (stable across runs). A case is
over once the student has been fine (no open incident) for `case_reopen_ms`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from detectors.records import Incident, case_id_for
from outreach.decide.decision import FamilyCaseView, PolicyConfig

SAME_PROBLEM_MS = 1_000  # incidents starting this close together are one problem


@dataclass(slots=True)
class FamilyCase:
    """What the policy remembers of one family's case."""

    case_id: str
    student_id: str
    opened_at: int
    problems: dict[str, tuple[int, int | None]] = field(default_factory=dict)  # id -> start, end
    contacts: list[tuple[str, int]] = field(default_factory=list)  # action, decided at
    escalated: bool = False

    def open_problems(self) -> bool:
        """Is one of the case's incidents still going on?"""
        return any(end is None for _, end in self.problems.values())

    def fine_since(self) -> int:
        """When the family's last problem ended (the case's opening if none ever did)."""
        ends = [end for _, end in self.problems.values() if end is not None]
        return max(ends, default=self.opened_at)

    def over_at(self, reopen_ms: int) -> int | None:
        """When the case is over (the student fine for `reopen_ms`), None while a problem lasts."""
        return None if self.open_problems() else self.fine_since() + reopen_ms

    def minutes_lost(self, now: int) -> float:
        """Lesson minutes lost in the case up to `now`, overlapping problems counted once."""
        spans = sorted((start, end if end is not None else now)
                       for start, end in self.problems.values())
        lost, reach = 0, None
        for start, end in spans:
            if reach is None or start > reach:
                lost += max(0, end - start)
                reach = end
            elif end > reach:
                lost += end - reach
                reach = end
        return lost / 60_000

    def problems_within(self, window_ms: int, now: int) -> int:
        """Distinct problems (by start) in the window ending at `now`."""
        starts = sorted(s for s, _ in self.problems.values() if now - window_ms <= s <= now)
        count, last = 0, None
        for s in starts:
            if last is None or s - last > SAME_PROBLEM_MS:
                count += 1
            last = s
        return count


class FamilyCases:
    """Every family's current case; the policy asks it which case an incident joins."""

    def __init__(self, config: PolicyConfig) -> None:
        self.config = config
        self.by_student: dict[str, FamilyCase] = {}

    def take(self, inc: Incident, *, own_case: bool = False) -> tuple[FamilyCase, bool]:
        """The case of an opening incident and whether it joined one (False: opened it).

        `own_case`: every incident opens its own case (contract 1.0).
        """
        student = inc.student_id or ""
        case = self.by_student.get(student)
        joined = not own_case and case is not None and self._joins(case, inc.detected_at)
        if case is None or not joined:
            case = FamilyCase(case_id_for(inc.incident_id), student, inc.started_at)
            self.by_student[student] = case
        case.problems.setdefault(inc.incident_id, (inc.started_at, None))
        return case, joined

    def _joins(self, case: FamilyCase, at: int) -> bool:
        over = case.over_at(self.config.case_reopen_ms)
        return over is None or at < over + self.config.case_reopen_ms

    def ended(self, inc: Incident) -> None:
        """An incident closed: its problem ends (the case stays for `case_reopen_ms`)."""
        case = self.by_student.get(inc.student_id or "")
        if case is None or inc.incident_id not in case.problems:
            return
        start, _ = case.problems[inc.incident_id]
        case.problems[inc.incident_id] = (start, inc.ended_at or inc.detected_at)

    def view(self, case: FamilyCase, now: int) -> FamilyCaseView:
        """What a joined incident's decision may look at."""
        cfg = self.config
        phone = [at for action, at in case.contacts if action in ("call", "sms")]
        return FamilyCaseView(
            case_id=case.case_id,
            incidents_in_window=case.problems_within(cfg.recurring_window_ms, now),
            minutes_lost=case.minutes_lost(now),
            contacts=tuple(action for action, _ in case.contacts),
            escalated=case.escalated,
            last_phone_contact_at=max(phone, default=None),
        )

    def record(self, case: FamilyCase, action: str, at: int) -> None:
        """A decision on the case: contacts are remembered, a technician only once."""
        if action == "none":
            return
        case.contacts.append((action, at))
        if action == "agent_queue":
            case.escalated = True

    def prune(self, now: int, horizon: int) -> None:
        """Forget cases that can no longer be joined, and any with no problem since `horizon`.

        The second bound keeps memory finite when an incident's close never comes (a
        student who never returned): such a case would otherwise stay open for ever.
        """
        reopen = self.config.case_reopen_ms
        gone = [s for s, c in self.by_student.items()
                if ((over := c.over_at(reopen)) is not None and now >= over + reopen)
                or max(start for start, _ in c.problems.values()) < horizon]
        for student in gone:
            del self.by_student[student]
