"""Closing a case: stopping its chain, its outcome from the timeline, minutes lost, metrics."""

from __future__ import annotations

import asyncio
import contextlib
from functools import partial
from typing import Any

import structlog

from outreach.contact.family_cases import FamilyCases
from outreach.contact.metrics import OutreachMetrics
from outreach.contact.outcome_sink import OutcomeSink
from outreach.contact.ports import AgentQueue
from outreach.contact.signals import Letter, Mailbox
from outreach.decide.case import Case, CaseEvent
from outreach.decide.case_states import Refusal
from outreach.decide.outcome_rules import facts_from, outcome_for
from outreach.decide.outcomes import OutcomeRecord
from outreach.store import unit
from outreach.store.cases import CaseStore

log = structlog.get_logger(__name__)


async def stop_chain(
    task: asyncio.Task[None] | None, mailbox: Mailbox, case_id: str, wait_s: float
) -> None:
    """Tell a case's running chain its problem is over and wait for it (at most `wait_s`)."""
    if task is None:
        return
    mailbox.post(case_id, Letter(None, None))
    with contextlib.suppress(TimeoutError, asyncio.CancelledError):
        await asyncio.wait_for(asyncio.shield(task), wait_s)
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def close_case(
    cases: CaseStore,
    family: FamilyCases,
    queue: AgentQueue | None,
    metrics: OutreachMetrics,
    case: Case,
    events: list[CaseEvent],
    *,
    reason: str,
    until: int | None,
    covered: bool,
) -> OutcomeRecord | None:
    """Close `case` with the outcome its timeline shows; None when the store refuses."""
    outcome = outcome_for(facts_from(case.kind, events, outcome=case.outcome, covered=covered))
    end = until if until is not None else case.incident_ended_at
    lesson_end = None if queue is None else await queue.lesson_end(case.case_id)
    minutes = await family.minutes_lost(case.case_id, end, lesson_end)
    closed = await cases.close(case.case_id, outcome, reason=reason, minutes_lost=minutes)
    if isinstance(closed, Refusal):
        log.warning("case_close_refused", case_id=case.case_id, reason=closed.reason)
        return None
    if queue is not None:
        await queue.drop(case.case_id)  # no-op unless it still waits there
    metrics.outcomes.labels(outcome).inc()
    metrics.minutes_lost.labels(outcome).inc(closed.lesson_minutes_lost)
    log.info(
        "case_closed",
        case_id=case.case_id,
        session_id=case.session_id,
        outcome=outcome,
        minutes_lost=closed.lesson_minutes_lost,
    )
    return closed


async def publish_committed(
    sink: OutcomeSink, cases: CaseStore, case_id: str, record: OutcomeRecord
) -> None:
    """Publish the outcome once the close is committed: now, or after the batch (all its
    outcomes then, noted on their timelines by one multi-row insert)."""
    batch = unit.current(cases.engine)
    if batch is None:
        await publish(sink, cases, {case_id: record})
        return
    due: dict[str, OutcomeRecord] = batch.bag.setdefault("outcomes", {})
    if not due:
        batch.after.append(partial(publish, sink, cases, due, after_batch=True))
    due[case_id] = record


async def publish(
    sink: OutcomeSink, cases: CaseStore, due: dict[str, OutcomeRecord], *,
    after_batch: bool = False,
) -> None:
    """Publish closed cases' outcomes, then put that on their timelines.

    A failed publish stops there; the ones before it are noted all the same (after a
    batch it is logged: the runner's sweep publishes the rest; else it is raised).
    """
    done: list[tuple[str, str, dict[str, Any]]] = []
    failed: Exception | None = None
    for case_id, record in due.items():
        try:
            await sink.publish(record)
        except Exception as exc:
            failed = exc
            break
        done.append((case_id, "outcome_published", {"outcome": record.outcome}))
    await cases.add_events(done)
    if failed is not None and not after_batch:
        raise failed
    if failed is not None:
        log.error("outcome_publish_failed", unpublished=len(due) - len(done),
                  error=repr(failed))  # fmt: skip
