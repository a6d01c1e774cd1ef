"""The case store: cases (a family's, see `case_joins`), their timeline, owner, state, outcome
(its reads: `case_reads`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from detectors.records import Incident, case_id_for
from outreach.decide.case import Case, Opened
from outreach.decide.case_states import NEEDS_OUTCOME, CaseState, Refusal, check_transition
from outreach.decide.clock import Clock, now_ms
from outreach.decide.outcomes import OUTCOMES, Outcome, OutcomeRecord, lesson_minutes_lost
from outreach.store.case_reads import CaseReads, case_from_row
from outreach.store.models import case_events, case_incidents, cases
from outreach.store.unit import tx

log = structlog.get_logger(__name__)


_case = case_from_row


def closed_values(current: Case, now: int, minutes_lost: float | None) -> dict[str, Any]:
    """What closing `current` at `now` writes besides its state and outcome (one case or many:
    one rule): closed now, nobody holds it, the lesson minutes lost (given, or its span's)."""
    end = current.incident_ended_at or now
    lost = (minutes_lost if minutes_lost is not None
            else lesson_minutes_lost(current.incident_started_at, end))
    return {"closed_at": now, "owner": None, "lesson_minutes_lost": lost}


class CaseIdTaken(IntegrityError):
    """Opening refused: another incident's case has this case id (two began at one instant),
    or the student already has an open case (one family, one case)."""


class CaseStore(CaseReads):
    """Cases in the case database; every change is one transaction (or joins the poll's batch,
    `outreach.store.unit`) and one timeline event. The reads are `CaseReads`'."""

    def __init__(self, engine: AsyncEngine, clock: Clock = now_ms) -> None:
        super().__init__(engine)
        self.clock = clock

    def insert_case(self) -> Any:
        """An INSERT into `cases` in the engine's dialect (for ON CONFLICT)."""
        if self.engine.dialect.name == "postgresql":
            return postgresql.insert(cases)
        return sqlite.insert(cases)

    async def open_case(
        self, incident: Incident, policy: Mapping[str, Any], *, at: int | None = None
    ) -> Opened:
        """Open the case of `incident` once; later calls return the same case (created=False)."""
        now = self.clock() if at is None else at
        case_id = case_id_for(incident.incident_id)
        stmt = (
            self.insert_case()
            .values(
                case_id=case_id,
                incident_id=incident.incident_id,
                kind=incident.kind,
                session_id=incident.session_id,
                student_id=incident.student_id,
                classroom_id=incident.classroom_id,
                state="open",
                policy=dict(policy),
                attempts=0,
                incident_started_at=incident.started_at,
                incident_ended_at=incident.ended_at,
                opened_at=now,
                updated_at=now,
            )
            # No conflict target: a conflict on ANY unique index does nothing. With only
            # `incident_id` as target, a concurrent opener of the same incident whose insert
            # reached the primary key first got a `cases_pkey` violation on PostgreSQL (other
            # indexes are checked, not arbitrated). Whose row won is read below.
            .on_conflict_do_nothing()
        )
        try:  # in a batch: a SAVEPOINT (an error must not abort the batch on PostgreSQL)
            async with tx(self.engine, savepoint=True) as conn:
                created = (await conn.execute(stmt)).rowcount == 1
                if created:
                    await self.event(conn, case_id, now, "opened", "system", incident.to_dict())
                    ended = incident.ended_at if incident.state == "closed" else None
                    await conn.execute(case_incidents.insert().values(
                        incident_id=incident.incident_id, case_id=case_id, kind=incident.kind,
                        started_at=incident.started_at, ended_at=ended, joined_at=now))
                row = (
                    await conn.execute(
                        sa.select(cases).where(cases.c.incident_id == incident.incident_id)
                    )
                ).first()  # PostgreSQL: a new snapshot (READ COMMITTED) has the winner
        except IntegrityError as exc:  # e.g. the incident is on another case already
            raise CaseIdTaken(exc.statement, exc.params, exc.orig or exc) from exc
        if row is None:  # the conflict was another incident's case (its id or its student)
            raise CaseIdTaken("open_case", None, RuntimeError(incident.incident_id))
        if created:
            log.info("case_opened", case_id=case_id, incident_id=incident.incident_id)
        return Opened(_case(row), created)

    async def record_incident(
        self, incident: Incident, policy: Mapping[str, Any], *, at: int | None = None
    ) -> Case:
        """Apply an incident record: open the case if new, else add the update to its timeline."""
        opened = await self.open_case(incident, policy, at=at)
        if opened.created:
            return opened.case
        now = self.clock() if at is None else at
        async with tx(self.engine) as conn:
            await conn.execute(
                cases.update()
                .where(cases.c.case_id == opened.case.case_id)
                .values(incident_ended_at=incident.ended_at, updated_at=now)
            )
            await self.event(
                conn,
                opened.case.case_id,
                now,
                f"incident_{incident.state}",
                "system",
                incident.to_dict(),
            )
        return await self._require(opened.case.case_id)

    async def add_event(
        self,
        case_id: str,
        kind: str,
        data: Mapping[str, Any] | None = None,
        *,
        actor: str = "system",
        at: int | None = None,
    ) -> Refusal | None:
        """Append an event (a reply, an agent note, ...) to the timeline."""
        # One statement: the event goes in only if the case exists. The case row is not
        # written (`updated_at` is the row's last change: state, owner, attempts, incident end).
        now = self.clock() if at is None else at
        e = case_events.c
        found = sa.select(
            cases.c.case_id, sa.literal(now, sa.BigInteger()), sa.literal(kind, e.kind.type),
            sa.literal(actor, e.actor.type), sa.literal(dict(data or {}), e.data.type),
        ).where(cases.c.case_id == case_id)
        stmt = case_events.insert().from_select(["case_id", "at", "kind", "actor", "data"], found)
        async with tx(self.engine, single=True) as conn:
            if (await conn.execute(stmt)).rowcount == 0:
                return Refusal("no_such_case", case_id)
        return None

    async def add_events(
        self, events: list[tuple[str, str, dict[str, Any]]], *, actor: str = "system",
        at: int | None = None,
    ) -> None:
        """Append many events `(case_id, kind, data)` at once: one multi-row INSERT (the case
        rows are not written, as by `add_event`)."""
        if not events:
            return
        now = self.clock() if at is None else at
        async with tx(self.engine) as conn:
            await conn.execute(case_events.insert(), [  # one statement cached for any count
                {"case_id": c, "at": now, "kind": k, "actor": actor, "data": d}
                for c, k, d in events
            ])  # fmt: skip

    async def record_attempt(
        self,
        case_id: str,
        channel: str,
        data: Mapping[str, Any] | None = None,
        *,
        at: int | None = None,
    ) -> Refusal | None:
        """Count one contact attempt and put it on the timeline."""
        now = self.clock() if at is None else at
        async with tx(self.engine) as conn:
            found = await conn.execute(
                cases.update()
                .where(cases.c.case_id == case_id, cases.c.state != "closed")
                .values(attempts=cases.c.attempts + 1, updated_at=now)
            )
            if found.rowcount == 0:
                return await self._missing_or_closed(conn, case_id)
            await self.event(
                conn, case_id, now, "attempt", "system", {"channel": channel, **(data or {})}
            )
        return None

    async def claim(self, case_id: str, owner: str, *, at: int | None = None) -> Refusal | None:
        """Make `owner` the case's one owner; refused if someone else holds it."""
        now = self.clock() if at is None else at
        async with tx(self.engine) as conn:
            done = await conn.execute(
                cases.update()
                .where(
                    cases.c.case_id == case_id,
                    cases.c.state != "closed",
                    sa.or_(cases.c.owner.is_(None), cases.c.owner == owner),
                )
                .values(owner=owner, updated_at=now)
            )
            if done.rowcount == 0:
                row = (
                    await conn.execute(sa.select(cases).where(cases.c.case_id == case_id))
                ).first()
                if row is None:
                    return Refusal("no_such_case", case_id)
                if row.state == "closed":
                    return Refusal("case_closed", case_id)
                return Refusal("owned_by_other", str(row.owner))
            await self.event(conn, case_id, now, "claimed", owner, {"owner": owner})
        log.info("case_claimed", case_id=case_id, owner=owner)
        return None

    async def release(self, case_id: str, owner: str, *, at: int | None = None) -> Refusal | None:
        """Give the case up; only its owner may."""
        now = self.clock() if at is None else at
        async with tx(self.engine) as conn:
            done = await conn.execute(
                cases.update()
                .where(cases.c.case_id == case_id, cases.c.owner == owner)
                .values(owner=None, updated_at=now)
            )
            if done.rowcount == 0:
                row = (
                    await conn.execute(sa.select(cases).where(cases.c.case_id == case_id))
                ).first()
                return (
                    Refusal("no_such_case", case_id)
                    if row is None
                    else Refusal("not_owner", str(row.owner))
                )
            await self.event(conn, case_id, now, "released", owner, {"owner": owner})
        return None

    async def transition(
        self,
        case_id: str,
        target: CaseState | str,
        *,
        actor: str = "system",
        by_owner: str | None = None,
        outcome: Outcome | None = None,
        reason: str = "",
        minutes_lost: float | None = None,
        at: int | None = None,
    ) -> Case | Refusal:
        """Move the case to `target` if the transition table allows it (else a named Refusal).

        `by_owner` is checked against the case's owner (None: a system action, always
        allowed). Entering `resolved` or `closed` needs an outcome (given now or before);
        closing stores the lesson minutes lost (given, or from the incident's times).
        """
        now = self.clock() if at is None else at
        if outcome is not None and outcome not in OUTCOMES:
            return Refusal("unknown_outcome", str(outcome))
        async with tx(self.engine) as conn:
            query = sa.select(cases).where(cases.c.case_id == case_id)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()
            row = (await conn.execute(query)).first()
            if row is None:
                return Refusal("no_such_case", case_id)
            current = _case(row)
            refusal = check_transition(current.state, target)
            if refusal is None and by_owner is not None and current.owner not in (None, by_owner):
                refusal = Refusal("owned_by_other", str(current.owner))
            final_outcome = outcome or current.outcome
            if refusal is None and target in NEEDS_OUTCOME and final_outcome is None:
                refusal = Refusal("outcome_required", target)
            if refusal is not None:
                log.info("case_transition_refused", case_id=case_id, reason=refusal.reason)
                return refusal
            values: dict[str, Any] = {"state": target, "updated_at": now, "outcome": final_outcome}
            if target == "open":
                values["outcome"] = None
            if target == "closed":
                values.update(closed_values(current, now, minutes_lost))
            done = await conn.execute(
                cases.update()
                .where(cases.c.case_id == case_id, cases.c.state == current.state)
                .values(**values)
            )
            if done.rowcount == 0:
                return Refusal("concurrent_change", case_id)
            data = {"from": current.state, "to": target, "reason": reason}
            if values["outcome"] is not None and target in NEEDS_OUTCOME:
                data["outcome"] = values["outcome"]
            await self.event(conn, case_id, now, "state", actor, data)
        log.info("case_state", case_id=case_id, state=target, reason=reason)
        return replace(current, **values)  # the row as written (guarded by its state)

    async def close(
        self,
        case_id: str,
        outcome: Outcome | None = None,
        *,
        actor: str = "system",
        minutes_lost: float | None = None,
        reason: str = "",
        at: int | None = None,
    ) -> OutcomeRecord | Refusal:
        """Close the case with its outcome; returns the record for `support.outcomes`."""
        result = await self.transition(
            case_id,
            "closed",
            actor=actor,
            outcome=outcome,
            reason=reason,
            minutes_lost=minutes_lost,
            at=at,
        )
        if isinstance(result, Refusal):
            return result
        record = result.outcome_record()
        assert record is not None
        return record

    @staticmethod
    async def _missing_or_closed(conn: AsyncConnection, case_id: str) -> Refusal:
        row = (
            await conn.execute(sa.select(cases.c.state).where(cases.c.case_id == case_id))
        ).first()
        return Refusal("no_such_case", case_id) if row is None else Refusal("case_closed", case_id)

    @staticmethod
    async def event(
        conn: AsyncConnection, case_id: str, at: int, kind: str, actor: str, data: dict[str, Any]
    ) -> None:
        """Append a timeline event inside the caller's transaction."""
        await conn.execute(
            case_events.insert().values(case_id=case_id, at=at, kind=kind, actor=actor, data=data)
        )
