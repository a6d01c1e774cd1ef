"""The SQL of the satisfaction follow-up: schedule, send once, answer once, read the scores.

Every change is one conditional statement, so two replicas (or a Twilio retry) never
ask a family twice nor store an answer twice: a case has one row (its id is the key),
a family one sent follow-up per local day (unique `student_id, sent_day`), a reply
one answer (unique `reply_sid`; the first answer wins).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.decide.clock import Clock, now_ms
from outreach.decide.followup import Answer
from outreach.decide.followup_figures import lowest_line, satisfaction_line
from outreach.decide.voc import NO_SCORES
from outreach.store.models import case_events, cases, followups, session_context
from outreach.store.unit import read, tx

SCHEDULED: Final = "scheduled"
SENDING: Final = "sending"
SENT: Final = "sent"
ANSWERED: Final = "answered"
SKIPPED: Final = "skipped"
FAILED: Final = "failed"
BATCH: Final = 200  # cases scheduled or sent per sweep


@dataclass(frozen=True, slots=True)
class Followup:
    """One follow-up as stored."""

    case_id: str
    student_id: str
    agent: str | None
    state: str
    reason: str
    due_at: int
    channel: str | None
    language: str
    sent_at: int | None
    sent_day: str | None
    score: int | None
    comment: str | None
    answered_at: int | None
    reply_sid: str | None
    followup_case_id: str | None

    def to_dict(self) -> dict[str, Any]:
        """As JSON for the desk."""
        return {name: getattr(self, name) for name in Followup.__dataclass_fields__}


def _row(row: Any) -> Followup:
    m = row._mapping
    return Followup(**{name: m[name] for name in Followup.__dataclass_fields__})


class FollowupStore:
    """Follow-ups in the case database (next to their cases)."""

    def __init__(self, engine: AsyncEngine, clock: Clock = now_ms) -> None:
        self.engine = engine
        self.clock = clock

    def _insert(self) -> Any:
        if self.engine.dialect.name == "postgresql":
            return postgresql.insert(followups)
        return sqlite.insert(followups)

    async def unscheduled(self, closed_since: int, limit: int = BATCH) -> list[str]:
        """Closed cases that reached the family (a contact attempt) and have no follow-up yet."""
        c = cases.c
        has = sa.select(followups.c.case_id)
        stmt = (
            sa.select(c.case_id)
            .where(c.state == "closed", c.closed_at >= closed_since, c.attempts > 0,
                   c.student_id.is_not(None), c.kind != "satisfaction", c.case_id.not_in(has))
            .order_by(c.closed_at)
            .limit(limit)
        )  # fmt: skip
        async with read(self.engine) as conn:
            return [str(r) for r in (await conn.execute(stmt)).scalars()]

    async def schedule(
        self, case_id: str, student_id: str, agent: str | None, due_at: int, language: str
    ) -> bool:
        """The case's one follow-up, due at `due_at`; False when it had one already."""
        stmt = self._insert().values(
            case_id=case_id, student_id=student_id, agent=agent, state=SCHEDULED, reason="",
            due_at=due_at, language=language,
        ).on_conflict_do_nothing(index_elements=["case_id"])  # fmt: skip
        async with tx(self.engine, single=True) as conn:
            return bool((await conn.execute(stmt)).rowcount == 1)

    async def due(self, now: int, limit: int = BATCH) -> list[Followup]:
        """Scheduled follow-ups whose time has come, oldest first."""
        f = followups.c
        stmt = (sa.select(followups).where(f.state == SCHEDULED, f.due_at <= now)
                .order_by(f.due_at).limit(limit))  # fmt: skip
        async with read(self.engine) as conn:
            return [_row(r) for r in (await conn.execute(stmt)).all()]

    async def asked_on(self, student_id: str, day: str) -> bool:
        """True when a follow-up already went to this family on this local day."""
        f = followups.c
        stmt = sa.select(f.case_id).where(f.student_id == student_id, f.sent_day == day)
        async with read(self.engine) as conn:
            return (await conn.execute(stmt.limit(1))).first() is not None

    async def take(self, case_id: str, channel: str, day: str, *, at: int | None = None) -> bool:
        """Claim the sending (scheduled -> sending, this family's one of `day`); False: not ours."""
        now = self.clock() if at is None else at
        f = followups.c
        stmt = (followups.update().where(f.case_id == case_id, f.state == SCHEDULED)
                .values(state=SENDING, channel=channel, sent_day=day, sent_at=now))  # fmt: skip
        try:  # in a batch: a SAVEPOINT (an error must not abort the batch on PostgreSQL)
            async with tx(self.engine, savepoint=True, single=True) as conn:
                return bool((await conn.execute(stmt)).rowcount == 1)
        except IntegrityError:  # another case of the family was asked today (a race)
            await self.skip(case_id, "asked_today")
            return False

    async def sent(self, case_id: str, ok: bool, reason: str = "") -> None:
        """The send's result: `sent` (waits for the answer) or `failed` (never asked again)."""
        f = followups.c
        values = {"state": SENT} if ok else {"state": FAILED, "reason": reason[:32]}
        async with tx(self.engine, single=True) as conn:
            await conn.execute(followups.update()
                               .where(f.case_id == case_id, f.state == SENDING).values(**values))

    async def skip(self, case_id: str, reason: str) -> bool:
        """Never ask about this case (a named reason); False when it was no longer scheduled."""
        f = followups.c
        stmt = (followups.update().where(f.case_id == case_id, f.state == SCHEDULED)
                .values(state=SKIPPED, reason=reason[:32], sent_day=None))  # fmt: skip
        async with tx(self.engine, single=True) as conn:
            return bool((await conn.execute(stmt)).rowcount == 1)

    async def get(self, case_id: str) -> Followup | None:
        """The case's follow-up, or None."""
        async with read(self.engine) as conn:
            row = (await conn.execute(
                sa.select(followups).where(followups.c.case_id == case_id))).first()
        return None if row is None else _row(row)

    async def by_reply(self, reply_sid: str) -> Followup | None:
        """The follow-up this reply (MessageSid, chat reply id) answered, or None."""
        if not reply_sid:
            return None
        async with read(self.engine) as conn:
            row = (await conn.execute(
                sa.select(followups).where(followups.c.reply_sid == reply_sid))).first()
        return None if row is None else _row(row)

    async def awaiting(self, student_ids: Sequence[str], since: int) -> Followup | None:
        """The newest follow-up sent to these students since `since` and not answered yet."""
        f = followups.c
        stmt = (sa.select(followups)
                .where(f.student_id.in_(list(student_ids)), f.state == SENT, f.sent_at >= since)
                .order_by(f.sent_at.desc()).limit(1))  # fmt: skip
        async with read(self.engine) as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _row(row)

    async def answer(
        self, case_id: str, answer: Answer, reply_sid: str, *, at: int | None = None
    ) -> bool:
        """Store the family's answer once (sent -> answered); False: answered already."""
        now = self.clock() if at is None else at
        f = followups.c
        stmt = (followups.update().where(f.case_id == case_id, f.state == SENT)
                .values(state=ANSWERED, score=answer.score, comment=answer.comment or None,
                        answered_at=now, reply_sid=reply_sid))  # fmt: skip
        try:  # in a batch: a SAVEPOINT (an error must not abort the batch on PostgreSQL)
            async with tx(self.engine, savepoint=True, single=True) as conn:
                return bool((await conn.execute(stmt)).rowcount == 1)
        except IntegrityError:  # the same reply answered another follow-up (never twice)
            return False

    async def link_case(self, case_id: str, followup_case_id: str) -> None:
        """Note the follow-up case a person works on."""
        async with tx(self.engine, single=True) as conn:
            await conn.execute(followups.update().where(followups.c.case_id == case_id)
                               .values(followup_case_id=followup_case_id))

    async def answered(self, since: int, until: int) -> list[Followup]:
        """Answers given in [since, until), oldest first."""
        f = followups.c
        stmt = (sa.select(followups)
                .where(f.state == ANSWERED, f.answered_at >= since, f.answered_at < until)
                .order_by(f.answered_at))  # fmt: skip
        async with read(self.engine) as conn:
            return [_row(r) for r in (await conn.execute(stmt)).all()]

    async def recent(self, limit: int = 50) -> list[Followup]:
        """The newest follow-ups sent or answered (for the console)."""
        f = followups.c
        stmt = (sa.select(followups).where(f.sent_at.is_not(None))
                .order_by(f.sent_at.desc()).limit(limit))  # fmt: skip
        async with read(self.engine) as conn:
            return [_row(r) for r in (await conn.execute(stmt)).all()]

    async def sticky_agents(self, case_ids: Sequence[str]) -> dict[str, str]:
        """Follow-up case id -> the agent who owned the case it follows up (sticky routing)."""
        if not case_ids:
            return {}
        f = followups.c
        stmt = sa.select(f.followup_case_id, f.agent).where(
            f.followup_case_id.in_(list(case_ids)), f.agent.is_not(None))
        async with read(self.engine) as conn:
            return {str(c): str(a) for c, a in (await conn.execute(stmt)).all()}


async def last_owner(engine: AsyncEngine, case_id: str) -> str | None:
    """The agent who held the case last (its last claim or transfer), or None."""
    e = case_events.c
    stmt = (sa.select(e.kind, e.actor, e.data)
            .where(e.case_id == case_id, e.kind.in_(("claimed", "transferred")))
            .order_by(e.event_id.desc()).limit(1))  # fmt: skip
    async with read(engine) as conn:
        row = (await conn.execute(stmt)).first()
    if row is None:
        return None
    if row.kind == "transferred" and isinstance(row.data, dict) and row.data.get("to"):
        return str(row.data["to"])
    return str(row.actor)


async def satisfaction_of(engine: AsyncEngine, since: int, until: int) -> str:
    """The follow-up scores answered in [since, until) in one line (the digest's support)."""
    f = followups.c
    stmt = sa.select(f.score).where(f.state == ANSWERED, f.score.is_not(None),
                                    f.answered_at >= since, f.answered_at < until)
    async with read(engine) as conn:
        scores = [int(s) for s in (await conn.execute(stmt)).scalars()]
    return satisfaction_line(scores) or NO_SCORES


async def satisfaction_by(engine: AsyncEngine, since: int, until: int) -> dict[str, str]:
    """The scores answered in [since, until) by release, classroom and teacher, lowest first.

    Keys `app_version`, `classroom_id`, `teacher` (from the case's session context; cases
    the desk never saw count as `unknown`); NO_SCORES when none were given.
    """
    f, ctx = followups.c, session_context.c
    stmt = (sa.select(f.score, ctx.app_version, ctx.teacher, cases.c.classroom_id)
            .select_from(followups.join(cases, cases.c.case_id == f.case_id)
                         .outerjoin(session_context, ctx.case_id == f.case_id))
            .where(f.state == ANSWERED, f.score.is_not(None), f.answered_at >= since,
                   f.answered_at < until))  # fmt: skip
    async with read(engine) as conn:
        rows = (await conn.execute(stmt)).all()
    out = {}
    for key in ("app_version", "classroom_id", "teacher"):
        pairs = [(str(getattr(r, key) or "unknown"), int(r.score)) for r in rows]
        out[key] = lowest_line(pairs) or NO_SCORES
    return out
