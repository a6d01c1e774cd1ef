"""The follow-up store on SQLite and PostgreSQL: one per case, one a day, one answer."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident, case_id_for
from monitor.voc_format import markdown
from outreach.decide.followup import Answer
from outreach.store.cases import CaseStore
from outreach.store.followups import FollowupStore, last_owner, satisfaction_of
from outreach.store.queue import QueueStore
from outreach.store.voc import digest_for
from tests.support.casedb import case_engine  # noqa: F401  (fixture)

T = 1_767_258_000_000


async def closed_case(store: CaseStore, n: int, student: str = "stu-1", *,
                      contacted: bool = True) -> str:
    """A closed case of `student`; contacted: one attempt was made."""
    inc = Incident(f"lag-{student}-{n}", "lag", "open", T + n, T + n + 5_000, None, {}, {},
                   f"sess-{n}", student, "room-1")
    case_id = (await store.open_case(inc, {}, at=T + n)).case.case_id
    if contacted:
        await store.record_attempt(case_id, "sms", at=T + n + 10_000)
    closed = await store.close(case_id, "resolved_by_chat", at=T + n + 60_000)
    assert not hasattr(closed, "reason")
    return case_id


async def test_closed_contacted_cases_are_scheduled_once(case_engine: AsyncEngine) -> None:  # noqa: F811
    cases, store = CaseStore(case_engine), FollowupStore(case_engine)
    reached = await closed_case(cases, 1)
    await closed_case(cases, 2, "stu-2", contacted=False)
    assert await store.unscheduled(T) == [reached]
    assert await store.schedule(reached, "stu-1", "agent-li", T + 100, "en")
    assert not await store.schedule(reached, "stu-1", "agent-wu", T + 999, "en")
    assert await store.unscheduled(T) == []
    [due] = await store.due(T + 100)
    assert (due.case_id, due.agent, due.state) == (reached, "agent-li", "scheduled")
    assert await store.due(T + 99) == []


async def test_one_follow_up_per_family_per_day_even_in_a_race(case_engine: AsyncEngine) -> None:  # noqa: F811
    cases, store = CaseStore(case_engine), FollowupStore(case_engine)
    a, b = await closed_case(cases, 1), await closed_case(cases, 2)
    for case_id in (a, b):
        await store.schedule(case_id, "stu-1", None, T, "zh-CN")
    assert await store.take(a, "sms", "2026-01-01", at=T)
    assert await store.asked_on("stu-1", "2026-01-01")
    # The other replica read "not asked today" before a went out: the database refuses b.
    assert not await store.take(b, "sms", "2026-01-01", at=T)
    assert (await store.get(b)).state == "skipped"  # type: ignore[union-attr]
    assert (await store.get(b)).reason == "asked_today"  # type: ignore[union-attr]
    assert not await store.take(a, "sms", "2026-01-01", at=T)  # taken once


async def test_an_answer_is_stored_once_per_reply_and_late_ones_attach(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    cases, store = CaseStore(case_engine), FollowupStore(case_engine)
    a = await closed_case(cases, 1)
    await store.schedule(a, "stu-1", "agent-li", T, "en")
    await store.take(a, "sms", "2026-01-01", at=T)
    await store.sent(a, True)
    days_later = T + 5 * 86_400_000
    waiting = await store.awaiting(["stu-1", "stu-9"], days_later - 14 * 86_400_000)
    assert waiting is not None and waiting.case_id == a
    assert await store.answer(a, Answer(2, "sound cut out"), "SM-1", at=days_later)
    assert not await store.answer(a, Answer(5, ""), "SM-2", at=days_later)  # first answer wins
    found = await store.by_reply("SM-1")
    assert found is not None and (found.score, found.comment) == (2, "sound cut out")
    assert await store.by_reply("SM-2") is None
    assert await store.awaiting(["stu-1"], T) is None
    assert [f.case_id for f in await store.answered(days_later, days_later + 1)] == [a]
    assert await satisfaction_of(case_engine, days_later, days_later + 1) == (
        "2.0 of 5 from 1 answer, 1 at 3 or below")
    assert await satisfaction_of(case_engine, T, T + 1) == "no follow-up scores yet"


async def test_the_follow_up_cases_agent_is_the_one_who_held_the_case(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    cases, store = CaseStore(case_engine), FollowupStore(case_engine)
    inc = Incident("lag-x", "lag", "open", T, T + 5_000, None, {}, {}, "s", "stu-1", "r")
    case_id = (await cases.open_case(inc, {}, at=T)).case.case_id
    assert case_id == case_id_for("lag-x")
    assert await last_owner(case_engine, case_id) is None
    assert await cases.claim(case_id, "agent-li") is None
    assert await last_owner(case_engine, case_id) == "agent-li"
    await cases.close(case_id, "resolved_by_call")
    await store.schedule(case_id, "stu-1", "agent-li", T, "en")
    await store.link_case(case_id, "case-follow")
    assert await store.sticky_agents(["case-follow", "case-other"]) == {"case-follow": "agent-li"}


async def test_the_digest_reports_the_follow_up_scores_of_both_periods(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    cases, store = CaseStore(case_engine), FollowupStore(case_engine)
    week = 7 * 86_400_000
    queue = QueueStore(case_engine, cases)
    for n, (score, at) in enumerate([(2, T + week + 5), (5, T + week + 9), (4, T + 1)]):
        case_id = await closed_case(cases, n, f"stu-{n}")
        if n == 0:
            await queue.save_context(case_id, {"app_version": "5.4.0", "teacher": "ms-berg"})
        await store.schedule(case_id, f"stu-{n}", None, T, "en")
        await store.take(case_id, "sms", f"day-{n}", at=T)
        await store.sent(case_id, True)
        assert await store.answer(case_id, Answer(score, ""), f"SM-{n}", at=at)
    digest = await digest_for(case_engine, T + week, T + 2 * week)
    assert digest.current.satisfaction == "3.5 of 5 from 2 answers, 1 at 3 or below"
    assert digest.previous.satisfaction == "4.0 of 5 from 1 answer, 0 at 3 or below"
    text = markdown(digest)
    assert "| follow-up scores | 3.5 of 5 from 2 answers, 1 at 3 or below |" in text
    # By release, classroom and teacher (the session context the desk saved), lowest first.
    assert "Follow-up scores by release, lowest first: 5.4.0 2.0 of 5 (1 answer); " \
           "unknown 5.0 of 5 (1 answer)." in text
    assert "Follow-up scores by classroom, lowest first: room-1 3.5 of 5 (2 answers)." in text
    assert "Follow-up scores by teacher, lowest first: ms-berg 2.0 of 5 (1 answer); " \
           "unknown 5.0 of 5 (1 answer)." in text


async def test_a_follow_up_case_waiting_for_a_person_is_never_closed_as_stale(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    cases = CaseStore(case_engine)
    for iid, kind in (("satisfaction-case-1", "satisfaction"), ("lag-9", "lag")):
        inc = Incident(iid, kind, "closed", T, T, T, {}, {}, "s", f"stu-{kind}",  # type: ignore[arg-type]
                       "r")
        await cases.open_case(inc, {}, at=T)
    stale = await cases.stale_cases(4 * 3_600_000, now=T + 5 * 3_600_000)
    assert [c.kind for c in stale] == ["lag"]
