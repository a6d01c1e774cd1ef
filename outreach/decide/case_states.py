"""Case states and the one table of allowed transitions (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

CaseState = Literal["open", "contacting", "waiting_agent", "resolved", "closed"]

STATES: Final[tuple[CaseState, ...]] = (
    "open",
    "contacting",
    "waiting_agent",
    "resolved",
    "closed",
)

# Every allowed move, and only these. `closed` is terminal; `resolved` may be
# reopened when the same incident flares up again before the case is closed.
TRANSITIONS: Final[dict[CaseState, frozenset[CaseState]]] = {
    "open": frozenset({"contacting", "waiting_agent", "resolved", "closed"}),
    "contacting": frozenset({"contacting", "waiting_agent", "resolved", "closed"}),
    "waiting_agent": frozenset({"contacting", "resolved", "closed"}),
    "resolved": frozenset({"open", "closed"}),
    "closed": frozenset(),
}

# States a case may only enter with an outcome decided.
NEEDS_OUTCOME: Final[frozenset[CaseState]] = frozenset({"resolved", "closed"})


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a change to a case was refused (`reason` is a stable name)."""

    reason: str
    detail: str = ""


def check_transition(current: str, target: str) -> Refusal | None:
    """None when `current -> target` is allowed, else the named reason it is not."""
    if target not in TRANSITIONS:
        return Refusal("unknown_state", target)
    if current not in TRANSITIONS:
        return Refusal("unknown_state", current)
    if current == "closed":
        return Refusal("case_closed", f"{current} -> {target}")
    if target not in TRANSITIONS[current]:
        return Refusal("transition_not_allowed", f"{current} -> {target}")
    return None
