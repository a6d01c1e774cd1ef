"""Record: remember every contact so later decisions can dedup and rate-limit."""

from __future__ import annotations

from collections import defaultdict

from outreach.decide.decision import Decision, DecisionContext

_DAY_MS = 86_400_000


class ContactLedger:
    """Contacts made per session, per family and lesson, and per family and day."""

    def __init__(self) -> None:
        self.last_contact: dict[str, int] = {}
        self.calls_by_lesson: dict[tuple[str, str], int] = defaultdict(int)
        self.calls_by_day: dict[tuple[str, int], int] = defaultdict(int)

    def contacted_within(self, session_id: str, now: int, window_ms: int) -> bool:
        """True if this session's family was contacted in the last `window_ms`."""
        last = self.last_contact.get(session_id)
        return last is not None and now - last < window_ms

    def calls(self, student_id: str, classroom_id: str, now: int) -> tuple[int, int]:
        """Calls so far to this family in this lesson and today (UTC day)."""
        return (
            self.calls_by_lesson.get((student_id, classroom_id), 0),
            self.calls_by_day.get((student_id, now // _DAY_MS), 0),
        )

    def prune(self, horizon: int) -> None:
        """Forget contacts before `horizon` (and call counts of earlier days)."""
        self.last_contact = {k: t for k, t in self.last_contact.items() if t >= horizon}
        day = horizon // _DAY_MS
        for key in [k for k in self.calls_by_day if k[1] < day]:
            del self.calls_by_day[key]
        if not self.last_contact:
            self.calls_by_lesson.clear()

    def record(self, ctx: DecisionContext, decision: Decision) -> None:
        """Note a decision; only actual contacts count."""
        if decision.suppressed:
            return
        self.last_contact[ctx.session_id] = ctx.now
        if decision.action in ("call", "sms"):
            self.calls_by_lesson[(ctx.student_id, ctx.classroom_id)] += 1
            self.calls_by_day[(ctx.student_id, ctx.now // _DAY_MS)] += 1
