"""One family, one case in the database: an incident joins its student's open case or opens one.

Race-free by the database itself: the partial unique index `ux_cases_open_student`
allows one case per student that is not closed, and a new case is an
`INSERT .. ON CONFLICT DO NOTHING`; whoever loses the race joins the winner's case.
Every incident of a case is a row of `case_incidents` (its start and end). A student with
no open case whose last case was over (fine for `case_reopen_ms`) less than `case_reopen_ms`
before the incident (event time, as the policy counts it) gets that case reopened: one
guarded UPDATE (`state = 'closed'` and no other open case of the student), backed by the
same index.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from detectors.records import Incident, case_id_for
from outreach.decide.case import Case, CaseEvent
from outreach.store.case_reads import case_from_row
from outreach.store.cases import CaseIdTaken, CaseStore
from outreach.store.incident_records import first_time
from outreach.store.models import case_events, case_incidents, cases
from outreach.store.unit import read, tx

log = structlog.get_logger(__name__)
TRIES = 3  # an open case that closes between our insert and our look-up: try again


@dataclass(frozen=True, slots=True)
class Taken:
    """Where an incident went: its case, whether it opened it, whether it is new there."""

    case: Case
    created: bool
    fresh: bool


@dataclass(frozen=True, slots=True)
class CaseView:
    """A case read with some of its events (`with_events`)."""

    case: Case | None
    events: list[CaseEvent]
    incident_over: bool  # the incident asked about ended, or the case is closed or gone


@dataclass(frozen=True, slots=True)
class CaseIncident:
    """One incident of a case, with its span."""

    incident_id: str
    case_id: str
    kind: str
    started_at: int
    ended_at: int | None
    joined_at: int


class CaseJoins:
    """Join-or-open of incidents on family cases, on a `CaseStore`'s database."""

    def __init__(self, store: CaseStore) -> None:
        self.store = store

    async def take(
        self, inc: Incident, policy: Mapping[str, Any], *, at: int | None = None
    ) -> Taken:
        """Put the incident on its student's open case, or open one (once per incident id)."""
        now = self.store.clock() if at is None else at
        for attempt in range(TRIES):
            try:
                taken = await self._take(inc, policy, now)
                break
            except sa.exc.IntegrityError:  # a reopen raced an insert of another replica
                if attempt == TRIES - 1:
                    raise
        verb = "case_opened" if taken.created else "incident_joined_case"
        log.info(verb, case_id=taken.case.case_id, incident_id=inc.incident_id)
        return taken

    async def _take(self, inc: Incident, policy: Mapping[str, Any], now: int) -> Taken:
        # In a batch: a SAVEPOINT, so that a raced reopen (IntegrityError) can be tried again.
        async with tx(self.store.engine, savepoint=True) as conn:
            known = await self._case_of(conn, inc.incident_id)
            if known is not None:
                return Taken(known, created=False, fresh=False)
            family = policy.get("family_cases", True)
            reopen_ms = int(policy.get("case_reopen_ms", 0)) if family else 0
            reopened = await self._reopen(conn, inc, reopen_ms, now)
            if reopened is not None:
                return reopened
            for _ in range(TRIES):
                taken = await self._join_or_open(conn, inc, policy, now)
                if taken is not None:
                    return taken
        raise CaseIdTaken("join_or_open", None, RuntimeError(inc.incident_id))

    async def update(self, inc: Incident, *, at: int | None = None) -> Case | None:
        """Apply a later record of a known incident (its end); None if the incident is unknown."""
        now = self.store.clock() if at is None else at
        async with tx(self.store.engine) as conn:
            case = await self._case_of(conn, inc.incident_id)
            if case is None:
                return None
            return await self._apply(conn, inc, case, now)

    async def update_once(self, inc: Incident, *, at: int | None = None) -> bool:
        """Apply a later record of a known incident once: False if applied before (or unknown).

        A keyed insert of the record's digest, in the same transaction, tells a redelivery:
        no reading of the case's timeline, however long it grew.
        """
        now = self.store.clock() if at is None else at
        async with tx(self.store.engine) as conn:
            case = await self._case_of(conn, inc.incident_id)
            if case is None or not await first_time(conn, inc, now):
                return False
            await self._apply(conn, inc, case, now)
        return True

    async def _apply(self, conn: AsyncConnection, inc: Incident, case: Case, now: int) -> Case:
        """The record's end (if closed), the case's end, and one timeline event."""
        if inc.state == "closed":
            await conn.execute(
                case_incidents.update()
                .where(case_incidents.c.incident_id == inc.incident_id)
                .values(ended_at=inc.ended_at or inc.detected_at)
            )
        await self._settle(conn, case.case_id, now)
        await self.store.event(
            conn, case.case_id, now, f"incident_{inc.state}", "system", inc.to_dict()
        )
        return await self._case(conn, case.case_id)

    async def case_of(self, incident_id: str) -> Case | None:
        """The case an incident is on, or None."""
        async with read(self.store.engine) as conn:
            return await self._case_of(conn, incident_id)

    async def incidents(self, case_id: str) -> list[CaseIncident]:
        """Every incident of the case, by start."""
        c = case_incidents.c
        stmt = sa.select(case_incidents).where(c.case_id == case_id).order_by(c.started_at)
        async with read(self.store.engine) as conn:
            rows = (await conn.execute(stmt)).all()
        return [CaseIncident(**dict(r._mapping)) for r in rows]

    async def with_events(
        self, case_id: str, kinds: tuple[str, ...] | None = None, *,
        incident_id: str | None = None,
    ) -> CaseView:
        """The case, its events of these kinds (None: all) oldest first, and whether
        `incident_id` is over on it: one statement."""
        e, i = case_events.c, case_incidents.c
        on = e.case_id == cases.c.case_id
        if kinds is not None:
            on = sa.and_(on, e.kind.in_(kinds))
        joined = cases.outerjoin(case_events, on)
        if incident_id is not None:
            joined = joined.outerjoin(
                case_incidents, sa.and_(i.case_id == cases.c.case_id, i.incident_id == incident_id)
            )
        ended = i.ended_at if incident_id is not None else sa.null()
        stmt = (sa.select(cases, ended.label("incident_ended"),
                          *(c.label(f"e_{c.name}") for c in case_events.c))
                .select_from(joined)
                .where(cases.c.case_id == case_id)
                .order_by(e.event_id))
        async with read(self.store.engine) as conn:
            rows = (await conn.execute(stmt)).all()
        if not rows:
            return CaseView(None, [], incident_over=True)
        events = [CaseEvent(**{c.name: r._mapping[f"e_{c.name}"] for c in case_events.c})
                  for r in rows if r.e_event_id is not None]
        case = case_from_row(rows[0])
        over = case.state == "closed" or rows[0].incident_ended is not None
        return CaseView(case, events, incident_over=over)

    async def announce(
        self, case_id: str, data: Mapping[str, Any], *, first_for: str | None = None,
        at: int | None = None,
    ) -> bool:
        """Put a `sending` on the timeline; False when refused.

        With `first_for` (an incident id): only if no send of another incident was announced
        on the case, decided under a lock of the case row, so two replicas carrying out two
        decisions of one family at once contact it once.
        """
        now = self.store.clock() if at is None else at
        c, e = cases.c, case_events.c
        async with tx(self.store.engine) as conn:
            # Lock the case row first (SQLite: this write takes the database's write lock).
            locked = await conn.execute(
                cases.update().where(c.case_id == case_id).values(updated_at=now)
            )
            if locked.rowcount == 0:
                return False
            if first_for is not None:
                found = await conn.execute(
                    sa.select(e.data).where(e.case_id == case_id, e.kind == "sending")
                )
                if any(d.get("incident_id", first_for) != first_for for (d,) in found.all()):
                    return False
            await self.store.event(conn, case_id, now, "sending", "system", dict(data))
        return True

    async def open_for_student(self, student_id: str) -> Case | None:
        """The student's one case that is not closed, or None."""
        async with read(self.store.engine) as conn:
            return await self._open_case(conn, student_id, lock=False)

    # -- internals -----------------------------------------------------------------

    async def _join_or_open(
        self, conn: AsyncConnection, inc: Incident, policy: Mapping[str, Any], now: int
    ) -> Taken | None:
        case_id = case_id_for(inc.incident_id)
        stmt = (
            self.store.insert_case()
            .values(
                case_id=case_id, incident_id=inc.incident_id, kind=inc.kind,
                session_id=inc.session_id, student_id=inc.student_id,
                classroom_id=inc.classroom_id, state="open", policy=dict(policy), attempts=0,
                incident_started_at=inc.started_at, incident_ended_at=inc.ended_at,
                opened_at=now, updated_at=now,
            )
            .on_conflict_do_nothing()  # any unique index: incident, case id, open case of student
            .returning(*cases.c)  # the new row (none: a conflict)
        )
        opened = (await conn.execute(stmt)).first()
        if opened is not None:
            await self._add(conn, inc, case_id, now)
            await self.store.event(conn, case_id, now, "opened", "system", inc.to_dict())
            return Taken(case_from_row(opened), created=True, fresh=True)
        family = inc.kind != "line" and inc.student_id is not None
        target = await self._open_case(conn, inc.student_id or "", lock=True) if family else None
        if target is None:
            # Not the student's open case: a case with this id (a flapping that starts with
            # a disconnect whose case is closed), or the open case closed meanwhile.
            target = await self._maybe_case(conn, case_id)
            if target is None:
                return None
        if not await self._add(conn, inc, target.case_id, now):  # another replica was first
            known = await self._case_of(conn, inc.incident_id)
            return None if known is None else Taken(known, created=False, fresh=False)
        await self._settle(conn, target.case_id, now)
        await self.store.event(conn, target.case_id, now, "incident_joined", "system",
                                inc.to_dict())  # fmt: skip
        return Taken(await self._case(conn, target.case_id), created=False, fresh=True)

    async def _reopen(
        self, conn: AsyncConnection, inc: Incident, reopen_ms: int, now: int
    ) -> Taken | None:
        """Reopen the student's last case if it was over less than `reopen_ms` ago."""
        if inc.kind == "line" or inc.student_id is None or reopen_ms <= 0:
            return None
        c = cases.c
        family = sa.and_(c.student_id == inc.student_id, c.kind != "line")
        last = (await conn.execute(
            sa.select(c.case_id, c.state, c.incident_ended_at).where(family)
            .order_by(c.opened_at.desc(), c.case_id.desc()).limit(1))).first()  # fmt: skip
        # Over at (fine since + reopen_ms); joins until reopen_ms after that, as the policy.
        if (last is None or last.state != "closed" or last.incident_ended_at is None
                or inc.detected_at >= last.incident_ended_at + 2 * reopen_ms):
            return None
        other = cases.alias("other")
        others_open = sa.select(other.c.case_id).where(
            other.c.student_id == inc.student_id, other.c.kind != "line",
            other.c.state != "closed")  # fmt: skip
        done = await conn.execute(
            cases.update()
            .where(c.case_id == last.case_id, c.state == "closed", ~sa.exists(others_open))
            .values(state="open", outcome=None, owner=None, updated_at=now)
        )
        if done.rowcount != 1:  # another replica reopened it (or opened one) first
            return None
        await self.store.event(conn, last.case_id, now, "state", "system",
                               {"from": "closed", "to": "open", "reason": "incident_joined"})
        await self.store.event(conn, last.case_id, now, "reopened", "system", inc.to_dict())
        await self._add(conn, inc, last.case_id, now)
        await self._settle(conn, last.case_id, now)
        await self.store.event(conn, last.case_id, now, "incident_joined", "system",
                               inc.to_dict())  # fmt: skip
        return Taken(await self._case(conn, last.case_id), created=False, fresh=True)

    @staticmethod
    async def _add(conn: AsyncConnection, inc: Incident, case_id: str, now: int) -> bool:
        """Put the incident on the case; False if it is on a case already."""
        ended = inc.ended_at if inc.state == "closed" else None
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(case_incidents).values(
            incident_id=inc.incident_id, case_id=case_id, kind=inc.kind,
            started_at=inc.started_at, ended_at=ended, joined_at=now,
        )
        done = await conn.execute(stmt.on_conflict_do_nothing(index_elements=["incident_id"]))
        return bool(done.rowcount == 1)

    @staticmethod
    async def _settle(conn: AsyncConnection, case_id: str, now: int) -> None:
        """The case's problem ends when its last incident has ended (NULL while one lasts)."""
        c = case_incidents.c
        row = (
            await conn.execute(
                sa.select(
                    sa.func.count().filter(c.ended_at.is_(None)), sa.func.max(c.ended_at)
                ).where(c.case_id == case_id)
            )
        ).one()
        ended = None if row[0] else row[1]
        await conn.execute(
            cases.update()
            .where(cases.c.case_id == case_id)
            .values(incident_ended_at=ended, updated_at=now)
        )

    @staticmethod
    async def _open_case(conn: AsyncConnection, student_id: str, *, lock: bool) -> Case | None:
        c = cases.c
        query = sa.select(cases).where(
            c.student_id == student_id, c.state != "closed", c.kind != "line"
        )
        if lock and conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = (await conn.execute(query)).first()
        return None if row is None else case_from_row(row)

    @staticmethod
    async def _case_of(conn: AsyncConnection, incident_id: str) -> Case | None:
        j = cases.join(case_incidents, case_incidents.c.case_id == cases.c.case_id)
        stmt = sa.select(cases).select_from(j).where(case_incidents.c.incident_id == incident_id)
        row = (await conn.execute(stmt)).first()
        return None if row is None else case_from_row(row)

    @staticmethod
    async def _maybe_case(conn: AsyncConnection, case_id: str) -> Case | None:
        row = (await conn.execute(sa.select(cases).where(cases.c.case_id == case_id))).first()
        return None if row is None else case_from_row(row)

    async def _case(self, conn: AsyncConnection, case_id: str) -> Case:
        case = await self._maybe_case(conn, case_id)
        if case is None:
            raise LookupError(case_id)
        return case
