"""Goodwill offers in the case database (SQLite and PostgreSQL): proposed once, decided once,
and a confirmation writes the family's message and the webhook's outbox row with it."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident, case_id_for
from outreach.decide.case_states import Refusal
from outreach.decide.goodwill import Member, Proposal
from outreach.store.cases import CaseStore
from outreach.store.goodwill import GoodwillStore, Offer
from outreach.store.models import chat_outbox, goodwill_hooks
from outreach.store.outbox import Outbox
from tests.support.casedb import case_engine  # noqa: F401
from tests.support.goodwill_receiver import school_rows


def incident(iid: str, student: str | None, session: str, kind: str = "disconnect",
             sessions: list[str] | None = None) -> Incident:
    return Incident(incident_id=iid, kind=kind, state="closed",  # type: ignore[arg-type]
                    started_at=1_000_000, detected_at=1_005_000, ended_at=1_900_000,
                    line={"edge": "sfu-1"}, evidence={}, session_id=session,
                    student_id=student, classroom_id="room-1", sessions=sessions)


async def open_case(store: CaseStore, iid: str, student: str | None, session: str,
                    **kw: object) -> str:
    case = await store.record_incident(incident(iid, student, session, **kw), {})  # type: ignore[arg-type]
    return case.case_id


def single(case_id: str, student: str = "stu-1") -> Proposal:
    return Proposal(case_id, "makeup", False, 15.0,
                    (Member(case_id, student, "room-1", 15.0, "makeup"),), "15 minutes lost")


async def test_an_offer_is_proposed_once_and_noted_on_the_case(
        case_engine: AsyncEngine) -> None:  # noqa: F811
    cases = CaseStore(case_engine)
    cid = await open_case(cases, "inc-1", "stu-1", "sess-1")
    store = GoodwillStore(case_engine)
    assert await store.propose(single(cid)) is True
    assert await store.propose(single(cid)) is False
    offer = await store.get(cid)
    assert isinstance(offer, Offer)
    assert (offer.state, offer.kind, offer.bulk, len(offer.members)) == (
        "proposed", "makeup", False, 1)
    kinds = [e.kind for e in await cases.timeline(cid)]
    assert kinds.count("goodwill_proposed") == 1
    assert [o.case_id for o in await store.offers("proposed")] == [cid]


async def test_confirming_writes_outcome_message_and_webhook_row_once(
        case_engine: AsyncEngine) -> None:  # noqa: F811
    cases = CaseStore(case_engine)
    cid = await open_case(cases, "inc-1", "stu-1", "sess-1")
    store = GoodwillStore(case_engine)
    await store.propose(single(cid))
    got = await store.decide(cid, "confirm", "lost most of the lesson", "alice")
    assert isinstance(got, Offer)
    assert (got.state, got.decided_by, got.decision_reason) == (
        "confirmed", "alice", "lost most of the lesson")
    again = await store.decide(cid, "decline", "changed my mind", "bob")
    assert again == Refusal("already_decided", "confirmed")
    timeline = await cases.timeline(cid)
    confirmed = [e for e in timeline if e.kind == "goodwill_confirmed"]
    assert len(confirmed) == 1 and confirmed[0].actor == "alice"
    hooks = await school_rows(case_engine)
    assert [(h.message_id, h.student_id, h.payload["idempotency_key"]) for h in hooks] == [
        (cid, "stu-1", cid)]
    assert hooks[0].payload["kind"] == "makeup"
    family = await Outbox(case_engine).pending("stu-1")
    assert [m.message_id for m in family] == [f"goodwill-{cid}"]
    assert "make-up" in family[0].payload["text"] or "补课" in family[0].payload["text"]
    assert await store.given(0, 2**62) == {"makeup": 1}


async def test_a_declined_offer_sends_nothing(case_engine: AsyncEngine) -> None:  # noqa: F811
    cases = CaseStore(case_engine)
    cid = await open_case(cases, "inc-1", "stu-1", "sess-1")
    store = GoodwillStore(case_engine)
    await store.propose(single(cid))
    assert await store.decide(cid, "decline", "", "alice") == Refusal("reason_required", "")
    got = await store.decide(cid, "decline", "family already rebooked", "alice")
    assert isinstance(got, Offer) and got.state == "declined"
    async with case_engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(goodwill_hooks))
                ).scalar_one() == 0
        assert (await conn.execute(sa.select(sa.func.count()).select_from(chat_outbox))
                ).scalar_one() == 0
    assert await store.decide("nope", "confirm", "x", "alice") == Refusal("no_such_offer", "nope")


async def test_two_agents_deciding_at_once_one_wins(case_engine: AsyncEngine) -> None:  # noqa: F811
    cases = CaseStore(case_engine)
    cid = await open_case(cases, "inc-1", "stu-1", "sess-1")
    store = GoodwillStore(case_engine)
    await store.propose(single(cid))
    results = await asyncio.gather(
        store.decide(cid, "confirm", "yes", "alice"), store.decide(cid, "decline", "no", "bob"))
    assert sum(isinstance(r, Offer) for r in results) == 1
    assert sum(isinstance(r, Refusal) for r in results) == 1
    assert len(await school_rows(case_engine)) <= 1


async def test_a_line_incidents_families_and_its_bulk_confirmation(
        case_engine: AsyncEngine) -> None:  # noqa: F811
    cases = CaseStore(case_engine)
    a = await open_case(cases, "inc-a", "stu-a", "sess-a")
    b = await open_case(cases, "inc-b", "stu-b", "sess-b")
    await open_case(cases, "inc-c", "stu-c", "sess-c")  # not on the line
    line = await open_case(cases, "line-1", None, "", kind="line", sessions=["sess-a", "sess-b"])
    assert line == case_id_for("line-1")
    store = GoodwillStore(case_engine)
    fams = await store.line_families(line)
    assert sorted(m.case_id for m in fams) == sorted([a, b])
    bulk = Proposal(line, "credit", True, 0.0, tuple(
        Member(m.case_id, m.student_id, m.classroom_id, 0.0, "credit") for m in fams), "line")
    assert await store.propose(bulk)
    got = await store.decide(line, "confirm", "edge outage", "ops-1")
    assert isinstance(got, Offer) and got.bulk
    hooks = await school_rows(case_engine)
    assert sorted(h.message_id for h in hooks) == sorted([a, b])
    assert all(h.payload["offer_case_id"] == line and h.payload["bulk"] for h in hooks)
    for cid in (a, b):  # the outcome on every family's own case
        assert [e.kind for e in await cases.timeline(cid)].count("goodwill_confirmed") == 1
    assert await store.given(0, 2**62) == {"credit": 2}
