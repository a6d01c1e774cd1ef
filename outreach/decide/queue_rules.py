"""The call queue's rules (pure): which waiting case comes first, and to which agent.

Priority: a dropped-out child (disconnect) comes before a flapping one, which
comes before a stuttering one (lag), by a head start in seconds; every second
of waiting adds one point, so long waits rise. A case past its service level
(answered within `sla_ms` of being queued; a satisfaction follow-up case within
24 h) always comes before one that is not.

Routing: the agent who last helped the family (for a follow-up case: the agent who
owned the case it follows up, given by case id), when that agent is free; otherwise
the free agent who has been idle longest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

# Head start of each kind, in seconds of waiting.
HEAD_START_S: Final[Mapping[str, int]] = {"disconnect": 180, "flapping": 120, "lag": 0, "line": 0}
DEFAULT_SLA_MS: Final = 120_000
# Service levels of kinds that are not live problems (a low score's follow-up case: 24 h).
SLA_MS_BY_KIND: Final[Mapping[str, int]] = {"satisfaction": 86_400_000}


def sla_of(kind: str, sla_ms: int) -> int:
    """The service level of a case of this kind (live problems: `sla_ms`)."""
    return SLA_MS_BY_KIND.get(kind, sla_ms)


@dataclass(frozen=True, slots=True)
class Waiting:
    """A case waiting in the queue, as the rules see it."""

    case_id: str
    kind: str
    queued_at: int
    student_id: str | None = None
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class Ranked:
    """A waiting case with its score, wait, service-level state and routing."""

    entry: Waiting
    score: float
    waited_ms: int
    sla_left_ms: int
    offered_to: str | None

    @property
    def breached(self) -> bool:
        """True when the case has waited past its service level."""
        return self.sla_left_ms < 0


@dataclass(frozen=True, slots=True)
class Agent:
    """An agent as routing sees them: online, how many cases they hold, idle since when."""

    name: str
    online: bool
    holding: int = 0
    idle_since: int = 0

    @property
    def free(self) -> bool:
        """Online and holding no case."""
        return self.online and self.holding == 0


def score(entry: Waiting, now: int) -> float:
    """Head start of the kind plus seconds waited."""
    return HEAD_START_S.get(entry.kind, 0) + max(0, now - entry.queued_at) / 1000


def route(student_id: str | None, agents: Iterable[Agent], last_helper: str | None) -> str | None:
    """The agent to offer the case to: the family's last helper if free, else the longest idle."""
    free = [a for a in agents if a.free]
    if last_helper is not None and any(a.name == last_helper for a in free):
        return last_helper
    if not free:
        return None
    return min(free, key=lambda a: (a.idle_since, a.name)).name


def rank(
    entries: Iterable[Waiting],
    now: int,
    agents: Sequence[Agent] = (),
    last_helpers: Mapping[str, str] | None = None,
    sla_ms: int = DEFAULT_SLA_MS,
) -> list[Ranked]:
    """Unclaimed cases first by service-level breach, then by score; each offered to one agent.

    `last_helpers` maps a student id (or a follow-up case's id) to the agent to offer it to.
    Each free agent is offered at most one case (the best one routed to them).
    """
    helpers = last_helpers or {}
    ordered = sorted(
        (e for e in entries if e.owner is None),
        key=lambda e: (now - e.queued_at <= sla_of(e.kind, sla_ms), -score(e, now), e.queued_at,
                       e.case_id),
    )
    pool = {a.name: a for a in agents}
    out: list[Ranked] = []
    for e in ordered:
        helper = helpers.get(e.case_id) or helpers.get(e.student_id or "")
        offered = route(e.student_id, pool.values(), helper)
        if offered is not None:
            pool[offered] = Agent(offered, online=True, holding=1)  # one offer per agent
        out.append(
            Ranked(
                entry=e,
                score=round(score(e, now), 1),
                waited_ms=max(0, now - e.queued_at),
                sla_left_ms=sla_of(e.kind, sla_ms) - (now - e.queued_at),
                offered_to=offered,
            )
        )
    return out
