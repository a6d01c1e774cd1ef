"""What the case runtime is handed: the technicians' queue and its waits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from outreach.contact.chain import Waits
from outreach.contact.notice_lane import COVERED_NOTICE_CONCURRENCY, COVERED_NOTICE_MAX_HOLD_S
from outreach.decide.case import Case


class AgentQueue(Protocol):
    """The technicians' queue (e.g. :class:`outreach.store.queue.QueueStore`)."""

    async def enqueue(self, case: Case, reason: str, *, at: int | None = None) -> bool:
        """Queue the case (state `waiting_agent`)."""
        ...

    async def drop(self, case_id: str, *, at: int | None = None) -> None:
        """Take the case out of the queue."""
        ...

    async def drop_many(self, case_ids: list[str], *, at: int | None = None) -> None:
        """Take these cases out of the queue (at once)."""
        ...

    async def lesson_end(self, case_id: str) -> int | None:
        """The scheduled end of the case's lesson, when the desk saw it."""
        ...

    async def lesson_ends(self, case_ids: list[str]) -> dict[str, int]:
        """The scheduled end of each case's lesson the desk saw (at once)."""
        ...

    async def device(self, case_id: str) -> str | None:
        """The family's device in the case's session (`ipad`, `pc`...), when the desk saw it."""
        ...

    async def conn(self, case_id: str) -> str | None:
        """The session's connection type (`wifi`, `wired`, `cellular`), when the desk saw it."""
        ...

    async def context(self, case_id: str) -> tuple[str | None, str | None]:
        """`device` and `conn` in one look-up."""
        ...


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    """The chain's waits, closing's wait for a chain to stop, the covered notices' lane."""

    waits: Waits = field(default_factory=Waits)
    close_wait_s: float = 30.0
    covered_notice_concurrency: int = COVERED_NOTICE_CONCURRENCY
    covered_notice_max_hold_s: float = COVERED_NOTICE_MAX_HOLD_S
