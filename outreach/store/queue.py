"""The call queue in the case database: enqueue, claim, release, transfer, resolve.

A claim is one conditional UPDATE (`... WHERE owner IS NULL AND state =
'waiting_agent'`), so of two agents claiming the same case at once exactly one
wins, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from outreach.decide.case import Case
from outreach.decide.case_states import Refusal
from outreach.decide.clock import Clock, now_ms
from outreach.decide.outcomes import OUTCOMES, Outcome, lesson_minutes_lost
from outreach.decide.queue_rules import Waiting
from outreach.store.cases import CaseStore
from outreach.store.models import (
    case_events,
    case_incidents,
    cases,
    queue_entries,
    session_context,
)
from outreach.store.unit import read, tx

log = structlog.get_logger(__name__)
WAITING = "waiting_agent"
UNKNOWN = "unknown"  # what session_context holds where the join was not seen


@dataclass(frozen=True, slots=True)
class QueueRow:
    """A queue entry joined with its case."""

    case_id: str
    kind: str
    student_id: str | None
    reason: str
    queued_at: int
    problem_started_at: int
    owner: str | None
    state: str
    answered_at: int | None
    incident_ended_at: int | None = None  # the problem is over (the case is shown recovered)
    classroom_id: str | None = None
    last_problem_at: int | None = None  # start of the case's newest incident (a join moves it)

    def waiting(self) -> Waiting:
        """The entry as the pure queue rules see it."""
        return Waiting(self.case_id, self.kind, self.queued_at, self.student_id, self.owner)


class QueueStore:
    """Cases that need a person, kept next to the case store in the same database."""

    def __init__(self, engine: AsyncEngine, store: CaseStore, clock: Clock = now_ms) -> None:
        self.engine = engine
        self.store = store
        self.clock = clock

    def _insert(self, table: sa.Table) -> Any:
        if self.engine.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    async def enqueue(self, case: Case, reason: str, *, at: int | None = None) -> bool:
        """Put the case in the queue (state `waiting_agent`); False if it cannot wait (closed)."""
        now = self.clock() if at is None else at
        if case.state == "closed":
            return False
        if case.state != WAITING:
            moved = await self.store.transition(case.case_id, WAITING, reason=reason, at=now)
            if isinstance(moved, Refusal):
                return False
        stmt = self._insert(queue_entries).values(
            case_id=case.case_id,
            kind=case.kind,
            student_id=case.student_id,
            reason=reason,
            queued_at=now,
            problem_started_at=case.incident_started_at,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["case_id"], set_={"done_at": None, "reason": reason}
        )
        async with tx(self.engine, single=True) as conn:
            await conn.execute(stmt)
        log.info("case_queued", case_id=case.case_id, reason=reason)
        return True

    async def rows(self, *, include_owned: bool = True) -> list[QueueRow]:
        """Entries still waiting for (or held by) an agent, oldest first."""
        q, ci = queue_entries, case_incidents
        newest = (
            sa.select(sa.func.max(ci.c.started_at)).where(ci.c.case_id == q.c.case_id)
            .scalar_subquery().label("last_problem_at")
        )  # fmt: skip
        stmt = (
            sa.select(
                q.c.case_id, q.c.kind, q.c.student_id, q.c.reason, q.c.queued_at,
                q.c.problem_started_at, q.c.answered_at, cases.c.owner, cases.c.state,
                cases.c.incident_ended_at, cases.c.classroom_id, newest,
            )
            .join(cases, cases.c.case_id == q.c.case_id)
            .where(q.c.done_at.is_(None), cases.c.state == WAITING)
            .order_by(q.c.queued_at)
        )
        if not include_owned:
            stmt = stmt.where(cases.c.owner.is_(None))
        async with read(self.engine) as conn:
            found = (await conn.execute(stmt)).all()
        fields = QueueRow.__dataclass_fields__
        return [QueueRow(**{k: r._mapping[k] for k in fields}) for r in found]

    async def claim(self, case_id: str, agent: str, *, at: int | None = None) -> Refusal | None:
        """Make `agent` the case's owner if nobody holds it (atomic)."""
        now = self.clock() if at is None else at
        async with tx(self.engine) as conn:
            done = await conn.execute(
                cases.update()
                .where(cases.c.case_id == case_id, cases.c.owner.is_(None),
                       cases.c.state == WAITING)
                .values(owner=agent, updated_at=now)
            )
            if done.rowcount != 1:
                return await self._why_not(conn, case_id, agent)
            await conn.execute(
                queue_entries.update()
                .where(queue_entries.c.case_id == case_id, queue_entries.c.answered_at.is_(None))
                .values(answered_at=now)
            )
            await _event(conn, case_id, now, "claimed", agent, {"owner": agent})
        log.info("case_claimed", case_id=case_id, agent=agent)
        return None

    async def release(self, case_id: str, agent: str, *, at: int | None = None) -> Refusal | None:
        """Give the case back to the queue; only its owner may."""
        return await self._move_owner(case_id, agent, None, "released", at)

    async def transfer(
        self, case_id: str, agent: str, to: str, *, at: int | None = None
    ) -> Refusal | None:
        """Hand the case from its owner to another agent."""
        if to == agent:
            return Refusal("same_agent", to)
        return await self._move_owner(case_id, agent, to, "transferred", at)

    async def resolve(
        self, case_id: str, agent: str, outcome: str, note: str = "", *, at: int | None = None
    ) -> Case | Refusal:
        """Close the owner's case with an outcome code and a note; it leaves the queue."""
        now = self.clock() if at is None else at
        if outcome not in OUTCOMES:
            return Refusal("unknown_outcome", outcome)
        case = await self.store.get(case_id)
        if case is None:
            return Refusal("no_such_case", case_id)
        if case.owner != agent:
            return Refusal("not_owner", str(case.owner))
        lesson_end = await self.lesson_end(case_id)
        end = case.incident_ended_at or now
        minutes = lesson_minutes_lost(case.incident_started_at, end, lesson_end)
        if note:
            await self.store.add_event(case_id, "note", {"text": note}, actor=agent, at=now)
        outcome_code: Outcome = outcome
        result = await self.store.transition(
            case_id, "closed", actor=agent, by_owner=agent, outcome=outcome_code,
            reason=note or "resolved", minutes_lost=minutes, at=now,
        )
        if isinstance(result, Refusal):
            return result
        async with tx(self.engine, single=True) as conn:
            await conn.execute(
                queue_entries.update().where(queue_entries.c.case_id == case_id)
                .values(done_at=now)
            )
        log.info("case_resolved", case_id=case_id, agent=agent, outcome=outcome)
        return result

    async def drop(self, case_id: str, *, at: int | None = None) -> None:
        """Take a case out of the queue without an agent (it was closed elsewhere)."""
        now = self.clock() if at is None else at
        async with tx(self.engine, single=True) as conn:
            await conn.execute(
                queue_entries.update()
                .where(queue_entries.c.case_id == case_id, queue_entries.c.done_at.is_(None))
                .values(done_at=now)
            )

    async def drop_many(self, case_ids: list[str], *, at: int | None = None) -> None:
        """Take these cases out of the queue without an agent, in one statement."""
        if not case_ids:
            return
        now = self.clock() if at is None else at
        async with tx(self.engine, single=True) as conn:
            await conn.execute(
                queue_entries.update()
                .where(queue_entries.c.case_id.in_(case_ids), queue_entries.c.done_at.is_(None))
                .values(done_at=now)
            )

    async def holding(self) -> dict[str, int]:
        """Open cases held, by agent."""
        stmt = (
            sa.select(cases.c.owner, sa.func.count())
            .where(cases.c.owner.is_not(None), cases.c.state != "closed")
            .group_by(cases.c.owner)
        )
        async with read(self.engine) as conn:
            return {str(o): int(n) for o, n in (await conn.execute(stmt)).all()}

    async def last_helpers(self, student_ids: list[str]) -> dict[str, str]:
        """The agent who last claimed a case of each student."""
        if not student_ids:
            return {}
        stmt = (
            sa.select(cases.c.student_id, case_events.c.actor, case_events.c.event_id)
            .join(cases, cases.c.case_id == case_events.c.case_id)
            .where(case_events.c.kind == "claimed", cases.c.student_id.in_(student_ids))
            .order_by(case_events.c.event_id)
        )
        out: dict[str, str] = {}
        async with read(self.engine) as conn:
            for student, actor, _ in (await conn.execute(stmt)).all():
                out[str(student)] = str(actor)
        return out

    async def family_cases(self, student_id: str, *, exclude: str | None = None) -> list[Case]:
        """Every case of this family, newest first (the current one left out)."""
        from outreach.store.cases import _case

        stmt = sa.select(cases).where(cases.c.student_id == student_id)
        if exclude is not None:
            stmt = stmt.where(cases.c.case_id != exclude)
        async with read(self.engine) as conn:
            found = (await conn.execute(stmt.order_by(cases.c.opened_at.desc()).limit(20))).all()
        return [_case(r) for r in found]

    async def lesson_end(self, case_id: str) -> int | None:
        """The scheduled end of the case's lesson, when known."""
        stmt = sa.select(session_context.c.lesson_end).where(session_context.c.case_id == case_id)
        async with read(self.engine) as conn:
            value = (await conn.execute(stmt)).scalar()
        return None if value is None else int(value)

    async def lesson_ends(self, case_ids: list[str]) -> dict[str, int]:
        """The scheduled end of each case's lesson, where known (one query)."""
        if not case_ids:
            return {}
        c = session_context.c
        stmt = sa.select(c.case_id, c.lesson_end).where(c.case_id.in_(case_ids),
                                                        c.lesson_end.is_not(None))
        async with read(self.engine) as conn:
            return {str(k): int(v) for k, v in (await conn.execute(stmt)).all()}

    async def device(self, case_id: str) -> str | None:
        """The family's device in the case's session (`ipad`, `pc`...), when the desk saw it."""
        stmt = sa.select(session_context.c.device).where(session_context.c.case_id == case_id)
        async with read(self.engine) as conn:
            value = (await conn.execute(stmt)).scalar()
        return None if value is None or value == UNKNOWN else str(value)

    async def conn(self, case_id: str) -> str | None:
        """The session's connection type (`wifi`, `wired`, `cellular`), when the desk saw it."""
        stmt = sa.select(session_context.c.conn).where(session_context.c.case_id == case_id)
        async with read(self.engine) as conn:
            value = (await conn.execute(stmt)).scalar()
        return None if value is None or value == UNKNOWN else str(value)

    async def context(self, case_id: str) -> tuple[str | None, str | None]:
        """The family's device and the session's connection type, in one look-up."""
        c = session_context.c
        stmt = sa.select(c.device, c.conn).where(c.case_id == case_id)
        async with read(self.engine) as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            return None, None
        return tuple(None if v is None or v == UNKNOWN else str(v) for v in row)  # type: ignore[return-value]

    async def save_context(self, case_id: str, values: dict[str, Any]) -> None:
        """Store where the case happened (device, app, line, teacher) once, for reports."""
        stmt = self._insert(session_context).values(case_id=case_id, **values)
        async with tx(self.engine, single=True) as conn:
            await conn.execute(stmt.on_conflict_do_nothing(index_elements=["case_id"]))

    async def _move_owner(
        self, case_id: str, agent: str, to: str | None, kind: str, at: int | None
    ) -> Refusal | None:
        now = self.clock() if at is None else at
        async with tx(self.engine) as conn:
            done = await conn.execute(
                cases.update()
                .where(cases.c.case_id == case_id, cases.c.owner == agent,
                       cases.c.state != "closed")
                .values(owner=to, updated_at=now)
            )
            if done.rowcount != 1:
                return await self._why_not(conn, case_id, agent, need_owner=True)
            await _event(conn, case_id, now, kind, agent, {"from": agent, "to": to})
        log.info("case_" + kind, case_id=case_id, agent=agent, to=to)
        return None

    @staticmethod
    async def _why_not(
        conn: AsyncConnection, case_id: str, agent: str, *, need_owner: bool = False
    ) -> Refusal:
        row = (
            await conn.execute(
                sa.select(cases.c.state, cases.c.owner).where(cases.c.case_id == case_id)
            )
        ).first()
        if row is None:
            return Refusal("no_such_case", case_id)
        if row.state == "closed":
            return Refusal("case_closed", case_id)
        if need_owner:
            return Refusal("not_owner", str(row.owner))
        if row.owner is not None:
            return Refusal("already_claimed", str(row.owner))
        return Refusal("not_waiting", str(row.state))


async def _event(
    conn: AsyncConnection, case_id: str, at: int, kind: str, actor: str, data: dict[str, Any]
) -> None:
    await conn.execute(
        case_events.insert().values(case_id=case_id, at=at, kind=kind, actor=actor, data=data)
    )
