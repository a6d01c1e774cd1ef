"""Closing many cases at once: their timelines and spans in one read each, one UPDATE, one
multi-row INSERT of their `state` events (issue 20: an outage's families, not ~17 statements
each). The decisions are the one-case path's (`cases.closed_values`, `check_transition`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import sqlalchemy as sa

from outreach.decide.case import Case, CaseEvent
from outreach.decide.case_states import check_transition
from outreach.decide.outcomes import OUTCOMES, Outcome
from outreach.store.case_joins import CaseIncident
from outreach.store.case_reads import case_from_row
from outreach.store.cases import CaseStore, closed_values
from outreach.store.models import case_events, case_incidents, cases
from outreach.store.unit import read, tx

CHUNK: Final = 500  # cases per statement (a bound on its bound parameters)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Closing:
    """One case to close: as it was read, its outcome and lesson minutes lost (None: its span's)."""

    case: Case
    outcome: Outcome
    minutes_lost: float | None


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """`items` in slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


async def timelines(store: CaseStore, case_ids: Sequence[str]) -> dict[str, list[CaseEvent]]:
    """Every event of each case, oldest first (one query per `CHUNK` cases)."""
    out: dict[str, list[CaseEvent]] = {case_id: [] for case_id in case_ids}
    async with read(store.engine) as conn:
        for part in chunks(case_ids):
            stmt = (sa.select(case_events).where(case_events.c.case_id.in_(part))
                    .order_by(case_events.c.event_id))
            for r in (await conn.execute(stmt)).all():
                out[r.case_id].append(CaseEvent(**dict(r._mapping)))
    return out


async def incidents_of(store: CaseStore, case_ids: Sequence[str]) -> dict[str, list[CaseIncident]]:
    """Every incident of each case, by start (as `CaseJoins.incidents`, for many cases)."""
    out: dict[str, list[CaseIncident]] = {case_id: [] for case_id in case_ids}
    c = case_incidents.c
    async with read(store.engine) as conn:
        for part in chunks(case_ids):
            stmt = (sa.select(case_incidents).where(c.case_id.in_(part))
                    .order_by(c.started_at, c.incident_id))
            for r in (await conn.execute(stmt)).all():
                out[r.case_id].append(CaseIncident(**dict(r._mapping)))
    return out


def _by_case(values: dict[str, Any]) -> Any:
    """One value for every case, or a CASE on the case id when they differ."""
    distinct = set(values.values())
    if len(distinct) == 1:
        return distinct.pop()
    return sa.case(values, value=cases.c.case_id)


async def close_many(
    store: CaseStore, closings: Sequence[Closing], *, reason: str, actor: str = "system",
    holder: str | None = None, at: int | None = None,
) -> list[Case]:
    """Close the cases nobody (but `holder`) holds whose state allows it and has not changed
    since they were read; the closed cases, in the order given (the others are left as they
    are)."""
    now = store.clock() if at is None else at
    holders = (None, holder)
    due = [c for c in closings if c.outcome in OUTCOMES and c.case.owner in holders
           and check_transition(c.case.state, "closed") is None]
    done: dict[str, Case] = {}
    async with tx(store.engine) as conn:
        for part in chunks(due):
            by_state: dict[str, list[str]] = {}
            for c in part:
                by_state.setdefault(c.case.state, []).append(c.case.case_id)
            values = {c.case.case_id: closed_values(c.case, now, c.minutes_lost) for c in part}
            outcome = _by_case({c.case.case_id: c.outcome for c in part})
            minutes = _by_case({k: v["lesson_minutes_lost"] for k, v in values.items()})
            stmt = (
                cases.update()
                .where(sa.or_(*(sa.and_(cases.c.state == state, cases.c.case_id.in_(ids))
                                for state, ids in by_state.items())),
                       sa.or_(cases.c.owner.is_(None), cases.c.owner == holder))
                .values(state="closed", updated_at=now, closed_at=now, owner=None,
                        outcome=outcome, lesson_minutes_lost=minutes)
                .returning(*cases.c)
            )  # fmt: skip
            # A CASE has two parameters per case: compiled for this close, not kept in the
            # engine's cache (an entry per count of cases, ~1 MB for 500, stays for good).
            per_case = isinstance(outcome, sa.Case) or isinstance(minutes, sa.Case)
            options = {"compiled_cache": None} if per_case else {}
            rows = (await conn.execute(stmt, execution_options=options)).all()
            closed = {str(r.case_id): case_from_row(r) for r in rows}
            if not closed:
                continue
            await conn.execute(case_events.insert(), [  # one statement cached for any count
                {"case_id": c.case.case_id, "at": now, "kind": "state", "actor": actor,
                 "data": {"from": c.case.state, "to": "closed", "reason": reason,
                          "outcome": c.outcome}}
                for c in part if c.case.case_id in closed
            ])  # fmt: skip
            done.update(closed)
    return [done[c.case.case_id] for c in closings if c.case.case_id in done]
