"""Reports by family: contacts per family, recurring families, escalations by reason."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident
from outreach.store.case_joins import CaseJoins
from outreach.store.cases import CaseStore
from outreach.store.family_reports import build_family_report
from tests.support.casedb import case_engine  # noqa: F401

MIN = 60_000


def incident(
    iid: str, student: str | None, start: int, lasts: int = MIN, kind: str = "lag"
) -> Incident:
    return Incident(iid, kind, "closed", start, start + 5_000, start + lasts, {}, {},  # type: ignore[arg-type]
                    f"sess-{student}", student, "room-1")  # fmt: skip


async def test_families_contacts_recurrence_and_escalations(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    store = CaseStore(case_engine)
    joins = CaseJoins(store)
    chronic = [(await joins.take(incident(f"lag-a{n}", "stu-a", n * 2 * MIN), {})).case
               for n in range(3)]  # fmt: skip
    case_a = chronic[0].case_id
    assert {c.case_id for c in chronic} == {case_a}
    for _ in range(2):
        await store.record_attempt(case_a, "chat")
    await store.add_event(case_a, "decision", {"action": "agent_queue",
                                               "reason": "escalated_recurring"})  # fmt: skip
    await store.close(case_a, "escalated", minutes_lost=3.0)
    case_b = (await joins.take(incident("lag-b1", "stu-b", MIN, lasts=10 * MIN), {})).case.case_id
    await store.record_attempt(case_b, "call")
    await store.add_event(case_b, "fallback", {"step": "agent_queue", "reason": "sms_unanswered"})
    await store.add_event(case_b, "fallback", {"step": "sms", "reason": "call_no_answer"})
    await joins.take(incident("line-1", None, 0, kind="line"), {})  # nobody's family
    await joins.take(incident("lag-c1", "stu-c", 99 * MIN), {})  # outside the period
    report = await build_family_report(case_engine, since_ms=0, until_ms=60 * MIN,
                                       now_ms=60 * MIN)  # fmt: skip
    assert [(f.student_id, f.cases, f.incidents, f.contacts) for f in report.families] == [
        ("stu-a", 1, 3, 2), ("stu-b", 1, 1, 1)]
    assert [(f.student_id, f.lesson_minutes_lost) for f in report.recurring] == [("stu-a", 3.0)]
    assert dict(report.escalations) == {"escalated_recurring": 1, "sms_unanswered": 1}
    assert report.to_dict()["recurring_families"][0]["incidents"] == 3
