"""The digest's support section counts goodwill given, beside the previous period."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident
from monitor.voc_format import sections
from outreach.decide.goodwill import Member, Proposal
from outreach.store.cases import CaseStore
from outreach.store.goodwill import GoodwillStore
from outreach.store.voc import digest_for
from tests.support.casedb import case_engine  # noqa: F401

DAY = 86_400_000
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC


async def give(engine: AsyncEngine, n: int, kind: str, at: int) -> None:
    cases = CaseStore(engine, lambda: at)
    case = await cases.record_incident(Incident(
        f"disconnect-v{n}", "disconnect", "closed", at - 3_600_000, at - 3_590_000,
        at - 2_000_000, {"edge": "e1"}, {}, session_id=f"s{n}", student_id=f"stu-{n}",
        classroom_id="room-1"), {})
    store = GoodwillStore(engine, lambda: at)
    await store.propose(Proposal(case.case_id, kind, False, 20.0,  # type: ignore[arg-type]
                                 (Member(case.case_id, f"stu-{n}", "room-1", 20.0,
                                         kind),),  # type: ignore[arg-type]
                                 "20 minutes lost"))
    await store.decide(case.case_id, "confirm", "lost lesson", "ann")


async def test_goodwill_given_is_counted_per_period(case_engine: AsyncEngine) -> None:  # noqa: F811
    await give(case_engine, 1, "makeup", T0 + 8 * DAY)
    await give(case_engine, 2, "credit", T0 + 9 * DAY)
    await give(case_engine, 3, "makeup", T0 + 2 * DAY)  # the week before
    digest = await digest_for(case_engine, T0 + 7 * DAY, T0 + 14 * DAY)
    assert dict(digest.current.goodwill) == {"makeup": 1, "credit": 1}
    assert dict(digest.previous.goodwill) == {"makeup": 1}
    [support] = [s for s in sections(digest) if s.team == "support"]
    [table] = [t for t in support.tables if t.title.startswith("Goodwill given")]
    assert table.rows == [["make-up lessons", "1", "1"], ["credits", "1", "0"]]
