"""Announcing many first sends at once follows the one-case path's rules: a resolved or closed
case is not moved, a case whose state changed since it was read is left alone, and a case
holding another incident's send gets its `state` event but no `sending`; attempts are counted
once on each case not closed."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.decide.case import Case
from outreach.store.bulk_sends import Announce, Attempt, announce_many, cases_of, record_attempts
from outreach.store.case_joins import CaseJoins
from outreach.store.cases import CaseStore
from tests.support.casedb import case_engine  # noqa: F401
from tests.support.live_support import T0, incident

NOW = T0 + 60_000
REASON = "covered_by_line_incident"


async def opened(store: CaseStore, n: int) -> list[Case]:
    """`n` open cases, one per student."""
    return [(await store.open_case(incident(1, student=f"stu-{i}"), {})).case for i in range(n)]


def wanted(case: Case) -> Announce:
    """Case `case`'s first chat, for its own incident."""
    return Announce(case, "chat", REASON, case.incident_id, case.incident_id)


async def test_many_sends_are_announced_by_the_one_case_rules(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    store = CaseStore(case_engine, lambda: NOW)
    fresh, taken, waiting, resolved, closed, changed = await opened(store, 6)
    # Another incident's send was announced on `taken` (a second decision of the family).
    assert await CaseJoins(store).announce(taken.case_id, {
        "channel": "chat", "message_id": f"{taken.case_id}:chat:1", "incident_id": "other"})
    await store.transition(waiting.case_id, "waiting_agent", reason="family_asked_for_help")
    await store.transition(resolved.case_id, "resolved", outcome="resolved_by_chat")
    await store.close(closed.case_id, "self_recovered")
    read = await cases_of(store, [c.case_id for c in (fresh, taken, waiting, resolved, closed)])
    await store.transition(changed.case_id, "waiting_agent")  # after it was read below
    stale = changed  # as read before that change: state open

    moved, announced = await announce_many(
        store, [wanted(read[fresh.case_id]), wanted(read[taken.case_id]),
                wanted(read[waiting.case_id]), wanted(read[resolved.case_id]),
                wanted(read[closed.case_id]), wanted(stale)])  # fmt: skip

    assert moved == {fresh.case_id, taken.case_id, waiting.case_id}
    assert announced == {fresh.case_id: f"{fresh.case_id}:chat:1",
                         waiting.case_id: f"{waiting.case_id}:chat:1"}
    for case, was in ((fresh, "open"), (taken, "open"), (waiting, "waiting_agent")):
        events = await store.timeline(case.case_id)
        [state] = [e.data for e in events if e.kind == "state" and e.data["to"] == "contacting"]
        assert state == {"from": was, "to": "contacting", "reason": REASON}
        now = await store.get(case.case_id)
        assert now is not None and now.state == "contacting"
    sends = [e.data for e in await store.timeline(taken.case_id) if e.kind == "sending"]
    assert [s["incident_id"] for s in sends] == ["other"]  # refused: no second contact
    for case in (resolved, closed, changed):
        kinds = [e.kind for e in await store.timeline(case.case_id)]
        assert "sending" not in kinds and case.case_id not in moved
    left = await store.get(changed.case_id)
    assert left is not None and left.state == "waiting_agent"

    recorded = await record_attempts(store, [
        Attempt(fresh.case_id, "chat", {"message_id": announced[fresh.case_id],
                                        "status": "queued"}),
        Attempt(closed.case_id, "chat", {"message_id": "x", "status": "queued"})])  # fmt: skip
    assert recorded == {fresh.case_id}
    after = await store.get(fresh.case_id)
    assert after is not None and after.attempts == 1
    [attempt] = [e.data for e in await store.timeline(fresh.case_id) if e.kind == "attempt"]
    assert attempt == {"channel": "chat", "message_id": f"{fresh.case_id}:chat:1",
                       "status": "queued"}
    gone = await store.get(closed.case_id)
    assert gone is not None and gone.attempts == 0
