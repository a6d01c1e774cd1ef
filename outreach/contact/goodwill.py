"""Goodwill in the running system: propose offers as cases close, deliver confirmed ones.

`GoodwillSink` wraps the runtime's outcome sink: every closed case is judged by the pure
rules (`outreach.decide.goodwill`) after its outcome is published. `HookDispatcher` sends
the scheduling webhook's outbox rows (written when an agent confirms) and acks each once
the school's system accepted it, so a restart sends nothing twice that was accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Protocol

import structlog
from prometheus_client import CollectorRegistry, Counter

from outreach.channels.retry import retryable_status
from outreach.channels.webhook import PageResult
from outreach.contact.goodwill_family import FamilySms
from outreach.contact.outcome_sink import OutcomeSink
from outreach.decide.goodwill import (
    CaseFacts,
    GoodwillRules,
    NoOffer,
    Proposal,
    propose,
    propose_bulk,
)
from outreach.decide.outcomes import OutcomeRecord
from outreach.store.cases import CaseStore
from outreach.store.goodwill import FAMILY_SMS, GoodwillStore
from outreach.store.models import goodwill_hooks
from outreach.store.outbox import Outbox, OutboxMessage

log = structlog.get_logger(__name__)


class Hook(Protocol):
    """Sends one offer to the school (`outreach.channels.goodwill_hook.SchedulingHook`)."""

    async def post(self, key: str, payload: dict[str, object]) -> PageResult:
        """POST the offer; never raises for the receiver's trouble."""
        ...


@dataclass(frozen=True, slots=True)
class GoodwillMetrics:
    """Offers proposed (or not, by reason), decisions, and webhook deliveries."""

    proposals: Counter
    decisions: Counter
    deliveries: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> GoodwillMetrics:
        """Register the counters on `registry` (a fresh one if None)."""
        reg = registry if registry is not None else CollectorRegistry(auto_describe=True)
        return cls(
            Counter("firstcall_goodwill_proposals", "Closed cases judged for goodwill, by "
                    "result (proposed_makeup, proposed_credit, or the reason for none).",
                    ["result"], registry=reg),
            Counter("firstcall_goodwill_decisions", "Goodwill offers confirmed or declined.",
                    ["decision", "bulk"], registry=reg),
            Counter("firstcall_goodwill_webhook", "Goodwill outbox deliveries, by result: the "
                    "school's webhook (accepted, retry_later, refused), the family's SMS "
                    "(family_sms_sent, _skipped, _failed).", ["result"], registry=reg),
        )


class GoodwillProposer:
    """Judges a closed case and stores the offer it earns (once per case)."""

    def __init__(self, cases: CaseStore, store: GoodwillStore, rules: GoodwillRules,
                 metrics: GoodwillMetrics) -> None:
        self.cases, self.store, self.rules, self.metrics = cases, store, rules, metrics

    async def judge(self, case_id: str) -> Proposal | NoOffer | None:
        """The offer (stored) or the reason for none; None if the case is unknown."""
        case = await self.cases.get(case_id)
        if case is None:
            return None
        if case.kind == "line":
            found = propose_bulk(self.rules, case_id, await self.store.line_families(case_id))
        else:
            found = propose(self.rules, CaseFacts(
                case.case_id, case.kind, case.state, case.student_id, case.classroom_id,
                case.lesson_minutes_lost or 0.0, covered_by_line=case.outcome == "infra_incident",
            ))
        if isinstance(found, NoOffer):
            self.metrics.proposals.labels(found.reason).inc()
        elif await self.store.propose(found):
            self.metrics.proposals.labels(f"proposed_{found.kind}").inc()
            log.info("goodwill_proposed", case_id=case_id, kind=found.kind, bulk=found.bulk,
                     families=len(found.members))
        return found


class GoodwillSink:
    """An outcome sink that publishes, then proposes goodwill for the closed case."""

    def __init__(self, inner: OutcomeSink, proposer: GoodwillProposer) -> None:
        self.inner, self.proposer = inner, proposer

    async def publish(self, record: OutcomeRecord) -> None:
        """Publish the outcome; then judge the case (a failure there is logged, not raised)."""
        await self.inner.publish(record)
        try:
            await self.proposer.judge(record.case_id)
        except Exception:  # the outcome is out; goodwill must not stop the runtime
            log.exception("goodwill_judge_failed", case_id=record.case_id)


class HookDispatcher:
    """Delivers the goodwill outbox: each row until accepted (acked) or finally refused.

    Rows for the school go to the webhook; a family's SMS row (`FAMILY_SMS`) to `family`
    (without one: skipped, the family has the in-app message).
    """

    def __init__(self, store: GoodwillStore, hook: Hook, metrics: GoodwillMetrics,
                 family: FamilySms | None = None) -> None:
        self.store, self.hook, self.metrics, self.family = store, hook, metrics, family
        self.outbox = Outbox(store.engine, store.clock, table=goodwill_hooks)

    async def deliver_pending(self, limit: int = 500) -> int:
        """Send what waits (oldest first); returns how many the school accepted."""
        accepted = 0
        for row in await self.outbox.pending_any(limit):
            if row.payload.get("type") == FAMILY_SMS:
                await self._family(row)
            else:
                accepted += await self._school(row)
        return accepted

    async def _school(self, row: OutboxMessage) -> int:
        await self.outbox.mark_sent(row.message_id)
        result = await self.hook.post(row.message_id, row.payload)
        case_id = row.case_id or row.message_id
        if result.ok:
            await self.outbox.ack(row.message_id, row.student_id)
            await self.store.delivered(case_id, result.status, result.attempts)
            self.metrics.deliveries.labels("accepted").inc()
            return 1
        if result.status and not retryable_status(result.status):
            await self.outbox.ack(row.message_id, row.student_id)  # final: not again
            await self.store.failed(case_id, f"refused_{result.reason}", result.attempts)
            self.metrics.deliveries.labels("refused").inc()
            log.error("goodwill_hook_refused", case_id=case_id, status=result.status)
        else:
            await self.store.failed(case_id, result.reason, result.attempts)
            self.metrics.deliveries.labels("retry_later").inc()
        return 0

    async def _family(self, row: OutboxMessage) -> None:
        case_id = row.case_id or row.message_id
        if self.family is None:
            result, why = "skipped", "no_sms_channel"
        else:
            await self.outbox.mark_sent(row.message_id)
            result, why = await self.family.send(row)
        if result in ("later", "retry"):
            return  # quiet hours, or the provider may take it next round
        await self.outbox.ack(row.message_id, row.student_id)
        self.metrics.deliveries.labels(f"family_sms_{result}").inc()
        await self.store.family_told(case_id, "sms" if result == "sent" else "in_app", result,
                                     why)

    async def run(self, every_s: float, stop: asyncio.Event) -> None:
        """Deliver every `every_s` until `stop` is set (a failed round is tried again)."""
        while not stop.is_set():
            try:
                await self.deliver_pending()
            except Exception:
                log.exception("goodwill_dispatch_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)
