"""The call queue in the database (SQLite, PostgreSQL): one winner per claim, owner-only moves."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident
from outreach.decide.case_states import Refusal
from outreach.store.cases import CaseStore
from outreach.store.queue import QueueStore
from tests.support.casedb import case_engine  # noqa: F401

T = 1_767_258_000_000


def incident(iid: str = "lag-q1", student: str = "stu-1", ended_at: int | None = None) -> Incident:
    return Incident(incident_id=iid, kind="lag", state="open", started_at=T, detected_at=T + 6000,
                    ended_at=ended_at, line={"edge": "e1", "isp": "i", "region": "r"},
                    evidence={}, session_id="s-" + iid, student_id=student, classroom_id="room")


async def queued(engine: AsyncEngine, iid: str = "lag-q1", student: str = "stu-1") -> tuple[
        QueueStore, str]:
    store = CaseStore(engine, lambda: T + 60_000)
    queue = QueueStore(engine, store, lambda: T + 60_000)
    case = await store.record_incident(incident(iid, student), {})
    assert await queue.enqueue(case, "not_recovered_after_contact")
    return queue, case.case_id


async def test_of_many_agents_claiming_at_once_exactly_one_wins(
        case_engine: AsyncEngine) -> None:  # noqa: F811
    queue, case_id = await queued(case_engine)
    agents = [f"agent-{i}" for i in range(8)]
    results = await asyncio.gather(*(queue.claim(case_id, a) for a in agents))
    winners = [a for a, r in zip(agents, results, strict=True) if r is None]
    assert len(winners) == 1
    losers = [r for r in results if r is not None]
    assert {r.reason for r in losers} == {"already_claimed"}
    assert {r.detail for r in losers} == set(winners)
    case = await queue.store.get(case_id)
    assert case is not None and case.owner == winners[0]
    claims = [e for e in await queue.store.timeline(case_id) if e.kind == "claimed"]
    assert [e.actor for e in claims] == winners


async def test_only_the_owner_releases_transfers_or_resolves(
        case_engine: AsyncEngine) -> None:  # noqa: F811
    queue, case_id = await queued(case_engine)
    assert await queue.claim(case_id, "ann") is None
    assert await queue.release(case_id, "bob") == Refusal("not_owner", "ann")
    assert await queue.transfer(case_id, "bob", "cat") == Refusal("not_owner", "ann")
    refused = await queue.resolve(case_id, "bob", "resolved_by_call")
    assert isinstance(refused, Refusal) and refused.reason == "not_owner"
    assert await queue.transfer(case_id, "ann", "bob") is None
    assert (await queue.store.get(case_id)).owner == "bob"  # type: ignore[union-attr]
    assert await queue.release(case_id, "bob") is None
    assert [r.owner for r in await queue.rows()] == [None]


async def test_resolving_closes_the_case_with_outcome_note_and_minutes_lost(
        case_engine: AsyncEngine) -> None:  # noqa: F811
    queue, case_id = await queued(case_engine)
    await queue.claim(case_id, "ann")
    bad = await queue.resolve(case_id, "ann", "fixed_it")
    assert bad == Refusal("unknown_outcome", "fixed_it")
    done = await queue.resolve(case_id, "ann", "resolved_by_call", "moved the tablet")
    assert not isinstance(done, Refusal)
    assert (done.state, done.outcome, done.owner) == ("closed", "resolved_by_call", None)
    assert done.lesson_minutes_lost == 1.0  # still going at resolve time: 60 s so far
    notes = [e.data for e in await queue.store.timeline(case_id) if e.kind == "note"]
    assert notes == [{"text": "moved the tablet"}]
    assert await queue.rows() == []
    assert await queue.claim(case_id, "bob") == Refusal("case_closed", case_id)


async def test_minutes_lost_stop_at_the_end_of_the_lesson(
        case_engine: AsyncEngine) -> None:  # noqa: F811
    queue, case_id = await queued(case_engine)
    await queue.save_context(case_id, {"lesson_end": T + 30_000})
    await queue.claim(case_id, "ann")
    done = await queue.resolve(case_id, "ann", "self_recovered")
    assert not isinstance(done, Refusal) and done.lesson_minutes_lost == 0.5


async def test_the_case_device_is_the_one_the_desk_saw_and_none_when_it_saw_none(
        case_engine: AsyncEngine) -> None:  # noqa: F811
    queue, ipad_case = await queued(case_engine, "lag-ipad", "stu-ipad")
    await queue.save_context(ipad_case, {"device": "ipad", "os": "ipados"})
    assert await queue.device(ipad_case) == "ipad"
    _, unseen = await queued(case_engine, "lag-unseen", "stu-unseen")
    await queue.save_context(unseen, {"line": "e1/i/r"})  # no join seen: device left unknown
    assert await queue.device(unseen) is None
    assert await queue.device("case-without-context") is None


async def test_the_last_helper_of_a_family_is_remembered(
        case_engine: AsyncEngine) -> None:  # noqa: F811
    queue, first = await queued(case_engine, "lag-a", "stu-7")
    await queue.claim(first, "ann")
    await queue.claim(first, "cat")  # refused: ann holds it
    assert await queue.last_helpers(["stu-7", "stu-8"]) == {"stu-7": "ann"}
    await queue.release(first, "ann")
    await queue.claim(first, "cat")
    assert await queue.last_helpers(["stu-7"]) == {"stu-7": "cat"}
    earlier = await queue.family_cases("stu-7", exclude=first)
    assert earlier == []
