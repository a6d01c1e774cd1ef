"""Decisions that came before their incident record: kept (in the database) until it comes.

Never given up (issue 20: 287 families were dropped after 5 minutes behind a big line
incident): only the incident ids are in memory; the decisions wait in `waiting_decisions`,
across restarts, counted in `firstcall_outreach_decisions_waiting` and, by outcome, in
`firstcall_outreach_decision_waits_total`.
"""

from __future__ import annotations

from collections import Counter

import structlog

from detectors.records import Outreach
from outreach.contact.metrics import OutreachMetrics
from outreach.decide.clock import Clock
from outreach.store.waiting import WaitingDecisions

log = structlog.get_logger(__name__)


class EarlyDecisions:
    """The decisions waiting for their incident, by incident id."""

    def __init__(self, store: WaitingDecisions, metrics: OutreachMetrics, wall: Clock) -> None:
        self.store = store
        self.metrics = metrics
        self.wall = wall
        self._ids: Counter[str] = Counter()  # incident id -> decisions waiting for it

    def __len__(self) -> int:
        return sum(self._ids.values())

    async def load(self) -> None:
        """Learn which decisions wait (at start-up: they outlive the process)."""
        self._ids = await self.store.counts()
        self.metrics.waiting.set(len(self))

    async def keep(self, o: Outreach) -> None:
        """Hold a decision until its incident comes."""
        await self.store.keep(o, self.wall())
        self._ids[o.incident_id] += 1
        self.metrics.waits.labels("waited").inc()
        self.metrics.waiting.set(len(self))
        log.info("decision_waits_for_incident", incident_id=o.incident_id,
                 session_id=o.session_id)  # fmt: skip

    async def take(self, incident_id: str) -> list[Outreach]:
        """The decisions waiting for this incident (now here); a dict look-up when none."""
        if incident_id not in self._ids:
            return []
        del self._ids[incident_id]
        found = await self.store.take(incident_id)
        self.metrics.waiting.set(len(self))
        for _o, since in found:
            self.metrics.waits.labels("resumed").inc()
            log.info("waiting_decision_resumed", incident_id=incident_id,
                     waited_ms=max(0, self.wall() - since))  # fmt: skip
        return [o for o, _since in found]
