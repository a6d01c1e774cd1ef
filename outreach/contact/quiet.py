"""When a family's case is over: its student fine for `case_reopen_ms`, or the lesson ended."""

from __future__ import annotations

from dataclasses import dataclass, field


def quiet_deadline(ended_at: int, reopen_ms: int, lesson_end: int | None) -> int:
    """Event time at which a case whose last problem ended at `ended_at` closes."""
    deadline = ended_at + reopen_ms
    if lesson_end is not None:
        deadline = min(deadline, max(lesson_end, ended_at))
    return deadline


@dataclass
class QuietBook:
    """Cases whose problems are all over and decided, with the event time they close at."""

    deadlines: dict[str, int] = field(default_factory=dict)

    def set(self, case_id: str, deadline: int) -> None:
        """The case closes at `deadline` unless a problem comes back first."""
        self.deadlines[case_id] = deadline

    def drop(self, case_id: str) -> None:
        """The case has a problem again (or is closed): no deadline."""
        self.deadlines.pop(case_id, None)

    def due(self, now: int) -> list[str]:
        """Cases whose deadline has come, taken off the book."""
        if not self.deadlines or min(self.deadlines.values()) > now:
            return []
        due = [cid for cid, at in self.deadlines.items() if at <= now]
        for cid in due:
            del self.deadlines[cid]
        return due
