"""Closing cases, one or many: stopping a chain, the outcome from the timeline, minutes lost,
metrics, the outcome published once committed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import partial
from typing import Any

import structlog

from outreach.contact.family_cases import FamilyCases, published
from outreach.contact.metrics import OutreachMetrics
from outreach.contact.outcome_sink import OutcomeSink
from outreach.contact.ports import AgentQueue
from outreach.contact.signals import Letter, Mailbox
from outreach.decide.case import Case, CaseEvent
from outreach.decide.case_states import Refusal
from outreach.decide.outcome_rules import facts_from, outcome_for
from outreach.decide.outcomes import OutcomeRecord, spans_minutes_lost
from outreach.store import case_closing, unit
from outreach.store.case_closing import Closing
from outreach.store.case_joins import CaseIncident
from outreach.store.cases import CaseStore

log = structlog.get_logger(__name__)


async def stop_chain(
    task: asyncio.Task[None] | None, mailbox: Mailbox, case_id: str, wait_s: float
) -> None:
    """Tell a case's running chain its problem is over and wait for it (at most `wait_s`)."""
    if task is None:
        return
    # asyncio.wait: the chain's end is awaited without taking on its cancellation, and the
    # caller's own cancellation (a shutdown) is not swallowed
    mailbox.post(case_id, Letter(None, None))
    await asyncio.wait([task], timeout=wait_s)
    if not task.done():
        task.cancel()
        await asyncio.wait([task])
    if not task.cancelled():
        task.result()  # a chain that failed says so here, as before


def closing_of(
    case: Case, events: Sequence[CaseEvent], incidents: Sequence[CaseIncident],
    lesson_end: int | None, *, until: int | None, covered: bool,
) -> Closing:
    """How `case` closes now: the outcome its timeline shows, the lesson minutes its problems
    took (open ones up to `until`, else its incident's end). One rule for one case or many."""
    outcome = outcome_for(facts_from(case.kind, events, outcome=case.outcome, covered=covered))
    end = until if until is not None else case.incident_ended_at
    return Closing(case, outcome, minutes_of(incidents, end, lesson_end))


def minutes_of(
    incidents: Sequence[CaseIncident], end: int | None, lesson_end: int | None
) -> float | None:
    """Lesson minutes a case's problems took (overlaps once; open ones up to `end`)."""
    spans = [(i.started_at, i.ended_at if i.ended_at is not None else end) for i in incidents]
    known = [(s, e) for s, e in spans if e is not None]
    return None if end is None or not known else spans_minutes_lost(known, lesson_end)


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
    lesson_end = None if queue is None else await queue.lesson_end(case.case_id)
    incidents = await family.joins.incidents(case.case_id)
    plan = closing_of(case, events, incidents, lesson_end, until=until, covered=covered)
    closed = await cases.close(case.case_id, plan.outcome, reason=reason,
                               minutes_lost=plan.minutes_lost)  # fmt: skip
    if isinstance(closed, Refusal):
        log.warning("case_close_refused", case_id=case.case_id, reason=closed.reason)
        return None
    if queue is not None:
        await queue.drop(case.case_id)  # no-op unless it still waits there
    _closed(metrics, closed)
    return closed


async def close_cases(
    cases: CaseStore, queue: AgentQueue | None, metrics: OutreachMetrics,
    found: Sequence[tuple[Case, bool]], *, reason: str,
) -> list[tuple[OutcomeRecord, bool]]:
    """Close many cases (each with whether a line incident covers it) as `close_case` closes
    one, in a few statements for all; (outcome record, already published?) of each closed.

    A case the store does not close here (held, or changed since it was read) is left out.
    """
    ids = [case.case_id for case, _ in found]
    if not ids:
        return []
    timelines = await case_closing.timelines(cases, ids)
    incidents = await case_closing.incidents_of(cases, ids)
    ends = {} if queue is None else await queue.lesson_ends(ids)
    plans = [closing_of(case, timelines[case.case_id], incidents[case.case_id],
                        ends.get(case.case_id), until=None, covered=covered)
             for case, covered in found]  # fmt: skip
    done = await case_closing.close_many(cases, plans, reason=reason)
    if queue is not None and done:
        await queue.drop_many([case.case_id for case in done])
    out = []
    for case in done:
        record = case.outcome_record()
        assert record is not None
        _closed(metrics, record)
        out.append((record, published(timelines[case.case_id])))
    return out


def _closed(metrics: OutreachMetrics, closed: OutcomeRecord) -> None:
    metrics.outcomes.labels(closed.outcome).inc()
    metrics.minutes_lost.labels(closed.outcome).inc(closed.lesson_minutes_lost)
    log.info(
        "case_closed",
        case_id=closed.case_id,
        session_id=closed.session_id,
        outcome=closed.outcome,
        minutes_lost=closed.lesson_minutes_lost,
    )


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


async def publish_all_committed(
    sink: OutcomeSink, cases: CaseStore, due: dict[str, OutcomeRecord]
) -> None:
    """As `publish_committed`, for many closed cases: outside a batch all of them now, noted
    by one multi-row insert."""
    if due and unit.current(cases.engine) is None:
        await publish(sink, cases, due)
        return
    for case_id, record in due.items():
        await publish_committed(sink, cases, case_id, record)


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
