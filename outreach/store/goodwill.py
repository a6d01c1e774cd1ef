"""Goodwill offers in the case database: proposed on a case, confirmed or declined once.

Confirming is one transaction: the offer's state, an outcome event on every family's case,
the family's in-app message (chat outbox) and the scheduling webhook's row (goodwill
outbox, keyed by the family's case id) are written together or not at all, so the webhook
goes out once even when the sender stops half-way (`outreach.contact.goodwill`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from outreach.decide.case_states import Refusal
from outreach.decide.clock import Clock, now_ms
from outreach.decide.goodwill import Member, OfferKind, Proposal, decision_refusal
from outreach.scripts.goodwill_wording import goodwill_text
from outreach.store.models import (
    case_events,
    cases,
    chat_outbox,
    goodwill_hooks,
    goodwill_offers,
    students,
)
from outreach.store.unit import read, tx

MAX_LIST: Final = 200
FAMILY_SMS: Final = "goodwill.family_sms"  # an outbox row for the family's SMS, not the school
FAMILY_SMS_PREFIX: Final = "sms-"


@dataclass(frozen=True, slots=True)
class Offer:
    """A goodwill offer as stored."""

    case_id: str
    bulk: bool
    kind: OfferKind
    state: str
    minutes_lost: float
    members: tuple[Member, ...]
    why: str
    proposed_at: int
    decided_at: int | None
    decided_by: str | None
    decision_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        """The offer as the desk API shows it."""
        return {"case_id": self.case_id, "bulk": self.bulk, "kind": self.kind,
                "state": self.state, "minutes_lost": self.minutes_lost,
                "families": len(self.members), "members": [m.to_dict() for m in self.members],
                "why": self.why, "proposed_at": self.proposed_at,
                "decided_at": self.decided_at, "decided_by": self.decided_by,
                "decision_reason": self.decision_reason}


def _offer(row: Any) -> Offer:
    m = row._mapping
    members = tuple(Member.from_dict(d) for d in (m["members"] or []) if isinstance(d, dict))
    kind: OfferKind = "credit" if m["kind"] == "credit" else "makeup"
    return Offer(m["case_id"], bool(m["bulk"]), kind, m["state"], float(m["minutes_lost"]),
                 members, m["why"], int(m["proposed_at"]), m["decided_at"], m["decided_by"],
                 m["decision_reason"])


def hook_payload(offer: Offer, member: Member, decided_at: int) -> dict[str, Any]:
    """The scheduling webhook's JSON object for one family (docs/goodwill.md)."""
    return {"type": "goodwill.confirmed", "version": 1, "idempotency_key": member.case_id,
            "case_id": member.case_id, "offer_case_id": offer.case_id, "bulk": offer.bulk,
            "kind": member.kind, "student_id": member.student_id,
            "classroom_id": member.classroom_id, "lesson_minutes_lost": member.minutes_lost,
            "confirmed_at": decided_at}


def family_sms_id(case_id: str) -> str:
    """The outbox id of a family's goodwill SMS (unique per case, at most 64 characters)."""
    found = FAMILY_SMS_PREFIX + case_id
    if len(found) <= 64:
        return found
    return FAMILY_SMS_PREFIX + hashlib.sha256(case_id.encode()).hexdigest()[:56]


class GoodwillStore:
    """Proposes, lists and decides goodwill offers (the only goodwill SQL)."""

    def __init__(self, engine: AsyncEngine, clock: Clock = now_ms) -> None:
        self.engine = engine
        self.clock = clock

    def _insert(self, table: sa.Table) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    async def propose(self, p: Proposal) -> bool:
        """Store the proposal on its case (once per case); True if this call stored it."""
        now = self.clock()
        stmt = self._insert(goodwill_offers).values(
            case_id=p.case_id, bulk=p.bulk, kind=p.kind, state="proposed",
            minutes_lost=p.minutes_lost, members=[m.to_dict() for m in p.members],
            why=p.why[:200], proposed_at=now,
        ).on_conflict_do_nothing(index_elements=["case_id"])
        async with tx(self.engine) as conn:
            if (await conn.execute(stmt)).rowcount != 1:
                return False
            data = {"kind": p.kind, "bulk": p.bulk, "families": len(p.members), "why": p.why}
            await _event(conn, p.case_id, now, "goodwill_proposed", "goodwill", data)
        return True

    async def get(self, case_id: str) -> Offer | None:
        """The offer on a case, or None."""
        async with read(self.engine) as conn:
            row = (await conn.execute(sa.select(goodwill_offers).where(
                goodwill_offers.c.case_id == case_id))).first()
        return None if row is None else _offer(row)

    async def offers(self, state: str | None = None, limit: int = MAX_LIST) -> list[Offer]:
        """Offers, newest first (only those in `state` if given)."""
        stmt = sa.select(goodwill_offers).order_by(goodwill_offers.c.proposed_at.desc(),
                                                   goodwill_offers.c.case_id)
        if state is not None:
            stmt = stmt.where(goodwill_offers.c.state == state)
        async with read(self.engine) as conn:
            rows = (await conn.execute(stmt.limit(min(limit, MAX_LIST)))).all()
        return [_offer(r) for r in rows]

    async def decide(self, case_id: str, decision: str, reason: str, by: str) -> Offer | Refusal:
        """Confirm or decline a proposed offer (once; the first decision wins)."""
        offer = await self.get(case_id)
        if offer is None:
            return Refusal("no_such_offer", case_id)
        refusal = decision_refusal(offer.state, decision, reason)
        if refusal is not None:
            return Refusal(refusal, offer.state if refusal == "already_decided" else "")
        now = self.clock()
        state = "confirmed" if decision == "confirm" else "declined"
        async with tx(self.engine) as conn:
            done = await conn.execute(goodwill_offers.update().where(
                goodwill_offers.c.case_id == case_id, goodwill_offers.c.state == "proposed",
            ).values(state=state, decided_at=now, decided_by=by, decision_reason=reason))
            if done.rowcount != 1:  # another agent decided first
                return Refusal("already_decided", "")
            kind = f"goodwill_{state}"
            data = {"kind": offer.kind, "reason": reason, "families": len(offer.members)}
            await _event(conn, case_id, now, kind, by, data)
            if state == "confirmed":
                await self._confirmed(conn, offer, now, by, reason)
        decided = await self.get(case_id)
        assert decided is not None
        return decided

    async def _confirmed(self, conn: AsyncConnection, offer: Offer, now: int, by: str,
                         reason: str) -> None:
        langs = await _languages(conn, [m.student_id for m in offer.members])
        for m in offer.members:
            if m.case_id != offer.case_id:  # a bulk offer: the outcome on each family's case
                await _event(conn, m.case_id, now, "goodwill_confirmed", by,
                             {"kind": m.kind, "reason": reason, "offer_case_id": offer.case_id})
            words = goodwill_text(m.kind, langs.get(m.student_id, "zh"))
            await conn.execute(self._insert(chat_outbox).values(
                message_id=f"goodwill-{m.case_id}"[:64], student_id=m.student_id,
                case_id=m.case_id, payload={"text": words, "goodwill": m.kind},
                created_at=now, deliveries=0,
            ).on_conflict_do_nothing(index_elements=["message_id"]))
            await conn.execute(self._insert(goodwill_hooks).values(
                message_id=m.case_id, student_id=m.student_id, case_id=m.case_id,
                payload=hook_payload(offer, m, now), created_at=now, deliveries=0,
            ).on_conflict_do_nothing(index_elements=["message_id"]))
            await conn.execute(self._insert(goodwill_hooks).values(  # by their channel
                message_id=family_sms_id(m.case_id), student_id=m.student_id,
                case_id=m.case_id, payload={"type": FAMILY_SMS, "kind": m.kind},
                created_at=now, deliveries=0,
            ).on_conflict_do_nothing(index_elements=["message_id"]))

    async def delivered(self, case_id: str, status: int, attempts: int) -> None:
        """Note on the family's case that the school's system took the offer."""
        async with tx(self.engine, single=True) as conn:
            await _event(conn, case_id, self.clock(), "goodwill_delivered", "goodwill",
                         {"status": status, "attempts": attempts})

    async def failed(self, case_id: str, reason: str, attempts: int) -> None:
        """Note on the family's case that a delivery round failed (it is tried again)."""
        async with tx(self.engine, single=True) as conn:
            await _event(conn, case_id, self.clock(), "goodwill_delivery_failed", "goodwill",
                         {"reason": reason, "attempts": attempts})

    async def family_told(self, case_id: str, channel: str, result: str, why: str) -> None:
        """Note on the family's case how they heard of the offer (`sms`, or `in_app` only)."""
        async with tx(self.engine, single=True) as conn:
            await _event(conn, case_id, self.clock(), "goodwill_family_told", "goodwill",
                         {"channel": channel, "result": result, "detail": why[:200]})

    async def line_families(self, line_case_id: str) -> list[Member]:
        """The family cases of the sessions a line incident's records named."""
        sessions: set[str] = set()
        async with read(self.engine) as conn:
            for (data,) in await conn.execute(sa.select(case_events.c.data).where(
                    case_events.c.case_id == line_case_id)):
                if isinstance(data, dict) and isinstance(data.get("sessions"), list):
                    sessions.update(str(s) for s in data["sessions"][:10_000])
            if not sessions:
                return []
            rows = (await conn.execute(sa.select(
                cases.c.case_id, cases.c.student_id, cases.c.classroom_id,
                cases.c.lesson_minutes_lost,
            ).where(cases.c.session_id.in_(sorted(sessions)), cases.c.kind != "line",
                    cases.c.student_id.is_not(None)))).all()
        return [Member(r.case_id, r.student_id, r.classroom_id,
                       float(r.lesson_minutes_lost or 0.0)) for r in rows]

    async def given(self, since_ms: int, until_ms: int) -> Mapping[str, int]:
        """Families given goodwill in [since, until), by kind (confirmed offers' members)."""
        stmt = sa.select(goodwill_offers.c.members).where(
            goodwill_offers.c.state == "confirmed", goodwill_offers.c.decided_at >= since_ms,
            goodwill_offers.c.decided_at < until_ms)
        out: dict[str, int] = {}
        async with read(self.engine) as conn:
            for (members,) in await conn.execute(stmt):
                for d in members or []:
                    kind = "credit" if isinstance(d, dict) and d.get("kind") == "credit" \
                        else "makeup"
                    out[kind] = out.get(kind, 0) + 1
        return out


async def _event(conn: AsyncConnection, case_id: str, at: int, kind: str, actor: str,
                 data: dict[str, Any]) -> None:
    await conn.execute(case_events.insert().values(case_id=case_id, at=at, kind=kind,
                                                   actor=actor, data=data))


async def _languages(conn: AsyncConnection, student_ids: list[str]) -> dict[str, str]:
    rows = await conn.execute(sa.select(students.c.student_id, students.c.language).where(
        students.c.student_id.in_(student_ids)))
    return {r.student_id: str(r.language).lower() for r in rows}
