"""Follow-up scores counted (pure): per agent for the console, one line for the digest."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

NO_AGENT: Final = "(automatic)"  # cases no agent held: the contact chain alone
LOW: Final = 3  # a score of 3 or below counts as low


@dataclass(slots=True)
class Scores:
    """The scores of one agent (or of everyone): how many, their mean, how many low."""

    key: str
    scores: list[int] = field(default_factory=list)

    @property
    def mean(self) -> float | None:
        """The mean score, one decimal (None: no score)."""
        return round(sum(self.scores) / len(self.scores), 1) if self.scores else None

    @property
    def low(self) -> int:
        """Scores of 3 or below."""
        return sum(1 for s in self.scores if s <= LOW)

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {"agent": self.key, "answers": len(self.scores), "mean": self.mean,
                "low": self.low}


def by_agent(answers: Iterable[Any]) -> list[Scores]:
    """Scores per agent (objects with `agent` and `score`), most answers first."""
    groups: dict[str, Scores] = {}
    for a in answers:
        if a.score is None:
            continue
        key = a.agent or NO_AGENT
        groups.setdefault(key, Scores(key)).scores.append(int(a.score))
    return sorted(groups.values(), key=lambda s: (-len(s.scores), s.key))


def satisfaction_line(scores: Iterable[int]) -> str | None:
    """The digest's follow-up scores in one line, e.g. `4.2 of 5 from 12 answers, 2 low`."""
    found = Scores("all", list(scores))
    if not found.scores:
        return None
    return f"{found.mean} of 5 from {len(found.scores)} answers, {found.low} at 3 or below"
