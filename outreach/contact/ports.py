"""What the case runtime is handed: the technicians' queue, its waits, early decisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from detectors.records import Outreach
from outreach.contact.chain import Waits
from outreach.decide.case import Case


class AgentQueue(Protocol):
    """The technicians' queue (e.g. :class:`outreach.store.queue.QueueStore`)."""

    async def enqueue(self, case: Case, reason: str, *, at: int | None = None) -> bool:
        """Queue the case (state `waiting_agent`)."""
        ...

    async def drop(self, case_id: str, *, at: int | None = None) -> None:
        """Take the case out of the queue."""
        ...

    async def lesson_end(self, case_id: str) -> int | None:
        """The scheduled end of the case's lesson, when the desk saw it."""
        ...

    async def device(self, case_id: str) -> str | None:
        """The family's device in the case's session (`ipad`, `pc`...), when the desk saw it."""
        ...

    async def conn(self, case_id: str) -> str | None:
        """The session's connection type (`wifi`, `wired`, `cellular`), when the desk saw it."""
        ...


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    """Waits of the contact chain, and how long closing waits for a chain to stop."""

    waits: Waits = field(default_factory=Waits)
    close_wait_s: float = 30.0


@dataclass
class EarlyDecisions:
    """Decisions that came before their incident record, kept until it comes."""

    waiting: dict[str, list[Outreach]] = field(default_factory=dict)  # by incident id
    since: dict[str, int] = field(default_factory=dict)  # incident id -> wall time first seen

    def keep(self, o: Outreach, now: int) -> None:
        """Hold a decision until its incident arrives."""
        self.waiting.setdefault(o.incident_id, []).append(o)
        self.since.setdefault(o.incident_id, now)

    def take(self, incident_id: str) -> list[Outreach]:
        """The decisions waiting for this incident (now here)."""
        self.since.pop(incident_id, None)
        return self.waiting.pop(incident_id, [])

    def older_than(self, cutoff: int) -> list[tuple[str, list[Outreach]]]:
        """Remove and return the incidents (and their decisions) waiting since before `cutoff`."""
        gone = [iid for iid, t in self.since.items() if t <= cutoff]
        return [(iid, self.take(iid)) for iid in gone]

    def __len__(self) -> int:
        return sum(len(v) for v in self.waiting.values())
