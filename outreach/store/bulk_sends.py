"""Many families' first sends announced and recorded at once (issue 20: an outage's notices).

The one-case path (`CaseJoins.with_events`, `CaseStore.transition`, `CaseJoins.announce`,
`CaseStore.record_attempt`) costs ~8 statements a family; here the same rows and timeline
events for N families take a constant number (per `CHUNK` cases): one read of the cases;
in one transaction a guarded UPDATE to `contacting` (its rows locked: PostgreSQL row locks,
SQLite's write lock), one read of their `sending` events under those locks, one multi-row
INSERT of the `state` and `sending` events; later one UPDATE of the attempt counts and one
multi-row INSERT of the `attempt` events. The rules are the one-case path's: a resolved or
closed case is not contacted, a case whose state changed since it was read is left alone
(`concurrent_change`), and with `first_for` nothing is announced on a case that holds a send
of another incident (the `state` event stays, as on the one-case path).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa

from outreach.decide.case import Case
from outreach.decide.case_states import check_transition
from outreach.store.case_closing import chunks
from outreach.store.case_reads import case_from_row
from outreach.store.cases import CaseStore
from outreach.store.models import case_events, cases
from outreach.store.unit import read, tx

TARGET: Final = "contacting"


@dataclass(frozen=True, slots=True)
class Announce:
    """One case's send to announce: its case as read, the channel, the decision's reason and
    incident, and `first_for` (an incident id: only if no other incident's send was announced)."""

    case: Case
    channel: str
    reason: str
    incident_id: str
    first_for: str | None


@dataclass(frozen=True, slots=True)
class Attempt:
    """One send's result to record: the case, the channel and the `attempt` event's data."""

    case_id: str
    channel: str
    data: Mapping[str, Any]


async def cases_of(store: CaseStore, case_ids: Sequence[str]) -> dict[str, Case]:
    """The cases that exist among `case_ids` (one query per `CHUNK`)."""
    out: dict[str, Case] = {}
    async with read(store.engine) as conn:
        for part in chunks(case_ids):
            stmt = sa.select(cases).where(cases.c.case_id.in_(part))
            out.update((r.case_id, case_from_row(r)) for r in (await conn.execute(stmt)).all())
    return out


async def announce_many(
    store: CaseStore, wanted: Sequence[Announce], *, at: int | None = None
) -> tuple[set[str], dict[str, str]]:
    """Move the cases to `contacting` and announce their sends; returns the cases moved and,
    of those, the message id announced on each (the others were refused by `first_for`)."""
    now = store.clock() if at is None else at
    due = [w for w in wanted if check_transition(w.case.state, TARGET) is None]
    moved: set[str] = set()
    announced: dict[str, str] = {}
    async with tx(store.engine) as conn:
        for part in chunks(due):
            by_state: dict[str, list[str]] = {}
            for w in part:
                by_state.setdefault(w.case.state, []).append(w.case.case_id)
            stmt = (
                cases.update()
                .where(sa.or_(*(sa.and_(cases.c.state == state, cases.c.case_id.in_(ids))
                                for state, ids in by_state.items())))
                .values(state=TARGET, updated_at=now)
                .returning(cases.c.case_id)
            )  # fmt: skip
            now_moved = {str(r.case_id) for r in (await conn.execute(stmt)).all()}
            if not now_moved:
                continue
            e = case_events.c
            sends: dict[str, list[Mapping[str, Any]]] = {case_id: [] for case_id in now_moved}
            found = await conn.execute(
                sa.select(e.case_id, e.data)
                .where(e.case_id.in_(sorted(now_moved)), e.kind == "sending")
                .order_by(e.event_id))  # fmt: skip
            for case_id, data in found.all():
                sends[case_id].append(data)
            rows = [_event(w.case.case_id, now, "state", {
                "from": w.case.state, "to": TARGET, "reason": w.reason})
                for w in part if w.case.case_id in now_moved]  # fmt: skip
            for w in part:
                if w.case.case_id not in now_moved or _taken(sends[w.case.case_id], w.first_for):
                    continue
                message_id = f"{w.case.case_id}:{w.channel}:{len(sends[w.case.case_id]) + 1}"
                announced[w.case.case_id] = message_id
                rows.append(_event(w.case.case_id, now, "sending", {
                    "channel": w.channel, "message_id": message_id,
                    "incident_id": w.incident_id}))  # fmt: skip
            await conn.execute(case_events.insert(), rows)  # state events first, then sends
            moved |= now_moved
    return moved, announced


async def record_attempts(
    store: CaseStore, attempts: Sequence[Attempt], *, at: int | None = None
) -> set[str]:
    """Count one attempt on each case not closed and put it on its timeline (one case once);
    returns the cases recorded."""
    now = store.clock() if at is None else at
    done: set[str] = set()
    async with tx(store.engine) as conn:
        for part in chunks(attempts):
            stmt = (
                cases.update()
                .where(cases.c.case_id.in_([a.case_id for a in part]), cases.c.state != "closed")
                .values(attempts=cases.c.attempts + 1, updated_at=now)
                .returning(cases.c.case_id)
            )
            counted = {str(r.case_id) for r in (await conn.execute(stmt)).all()}
            if counted:
                await conn.execute(case_events.insert(), [
                    _event(a.case_id, now, "attempt", {"channel": a.channel, **a.data})
                    for a in part if a.case_id in counted])  # fmt: skip
            done |= counted
    return done


def _taken(sends: Sequence[Mapping[str, Any]], first_for: str | None) -> bool:
    """Was a send of another incident announced on the case (the `first_for` rule)?"""
    return first_for is not None and any(d.get("incident_id", first_for) != first_for
                                         for d in sends)


def _event(case_id: str, at: int, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"case_id": case_id, "at": at, "kind": kind, "actor": "system", "data": data}
