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
    return f"{found.mean} of 5 from {_answers(len(found.scores))}, {found.low} at 3 or below"


def lowest_line(scores: Iterable[tuple[str, int]], limit: int = 5) -> str | None:
    """Scores by group (a release, a classroom...), lowest mean first, in one line.

    E.g. `5.4.0 2.0 of 5 (1 answer); 5.3.9 4.5 of 5 (2 answers)`; None when there are none.
    """
    groups: dict[str, Scores] = {}
    for key, score in scores:
        groups.setdefault(key, Scores(key)).scores.append(int(score))
    if not groups:
        return None
    ranked = sorted(groups.values(), key=lambda s: (s.mean or 0.0, -len(s.scores), s.key))
    return "; ".join(f"{s.key} {s.mean} of 5 ({_answers(len(s.scores))})" for s in ranked[:limit])


def _answers(n: int) -> str:
    return f"{n} answer" if n == 1 else f"{n} answers"
