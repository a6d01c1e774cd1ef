"""The case queries of the live runner and the SMS replies, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident
from outreach.decide.family import Guardian, Student
from outreach.store.cases import CaseIdTaken, CaseStore
from outreach.store.directory import DirectoryStore
from outreach.store.sms_cases import case_to_answer, family_languages
from tests.support.casedb import case_engine  # noqa: F401


def incident(iid: str, student: str = "stu-1", state: str = "open") -> Incident:
    return Incident(
        incident_id=iid, kind=iid.split("-", 1)[0], state=state,  # type: ignore[arg-type]
        started_at=1_000, detected_at=1_000, ended_at=None, line={}, evidence={},
        session_id="sess-1", student_id=student, classroom_id="room-1",
    )  # fmt: skip


async def opened(store: CaseStore, iid: str, at: int, student: str = "") -> str:
    """Open a case; each incident of its own student unless told (one open case per student)."""
    inc = incident(iid, student or f"stu-{iid}")
    return (await store.open_case(inc, {}, at=at)).case.case_id


async def test_stale_cases_are_unclosed_unowned_and_old_enough(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    store = CaseStore(case_engine)
    old = await opened(store, "lag-old", 1_000)
    new = await opened(store, "lag-new", 5_000)
    held = await opened(store, "lag-held", 1_000)
    assert await store.claim(held, "alice", at=1_100) is None
    done = await opened(store, "lag-done", 1_000)
    await store.close(done, "self_recovered", at=1_200)
    assert [c.case_id for c in await store.stale_cases(3_000, now=4_000)] == [old]  # on the edge
    assert [c.case_id for c in await store.stale_cases(3_001, now=4_000)] == []
    assert {c.case_id for c in await store.stale_cases(2_000, now=7_000)} == {old, new}


async def test_closed_unpublished_leaves_out_published_and_older(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    store = CaseStore(case_engine)
    first = await opened(store, "lag-first", 1_000)
    second = await opened(store, "lag-second", 1_000)
    published = await opened(store, "lag-published", 1_000)
    await opened(store, "lag-open", 1_000)
    for case_id, at in ((first, 2_000), (second, 3_000), (published, 3_000)):
        await store.close(case_id, "self_recovered", at=at)
    await store.add_event(published, "outcome_published", {"outcome": "self_recovered"})
    assert {c.case_id for c in await store.closed_unpublished(since=2_000)} == {first, second}
    assert [c.case_id for c in await store.closed_unpublished(since=2_001)] == [second]
    assert await store.closed_unpublished(since=3_001) == []


async def test_cases_in_state(case_engine: AsyncEngine) -> None:  # noqa: F811
    store = CaseStore(case_engine)
    calling = await opened(store, "lag-calling", 1_000)
    await opened(store, "lag-waiting", 1_000)
    await store.transition(calling, "contacting", at=1_100)
    found = await store.cases_in_state("contacting")
    assert [(c.case_id, c.state) for c in found] == [(calling, "contacting")]
    assert len(await store.cases_in_state("open")) == 1
    assert await store.cases_in_state("closed") == []


async def test_a_second_incident_with_the_same_case_id_is_refused(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    store = CaseStore(case_engine)
    case_id = await opened(store, "disconnect-s1-1000", 1_000)
    with pytest.raises(CaseIdTaken) as refused:  # a flapping that began with the disconnect
        await store.open_case(incident("flapping-s1-1000"), {}, at=1_000)
    assert isinstance(refused.value, IntegrityError)  # what the desk catches
    with pytest.raises(CaseIdTaken):
        await store.record_incident(incident("flapping-s1-1000"), {}, at=1_000)
    assert [e.kind for e in await store.timeline(case_id)] == ["opened"]
    assert (await opened(store, "disconnect-s1-1000", 1_500)) == case_id  # its own: no error


async def test_family_languages_by_phone(case_engine: AsyncEngine) -> None:  # noqa: F811
    def guardian(phone: str, language: str) -> Guardian:
        return Guardian("Nai", phone, "grandmother", "sms", language, "Asia/Shanghai", None, False)

    def student(sid: str, *guardians: Guardian) -> Student:
        return Student(sid, sid, "zh-CN", "Asia/Shanghai", guardians)

    await DirectoryStore(case_engine).save([
        student("stu-2", guardian("+8613800000001", "en")),
        student("stu-1", guardian("+8613800000001", "zh-CN"), guardian("+8613800000002", "en")),
    ])  # fmt: skip
    store = CaseStore(case_engine)
    assert await family_languages(store, "+8613800000001") == {"stu-1": "zh-CN", "stu-2": "en"}
    assert await family_languages(store, "+8613800000002") == {"stu-1": "en"}
    assert await family_languages(store, "+8613899999999") == {}
    assert await family_languages(store, "") == {}


async def test_the_case_an_sms_answers(case_engine: AsyncEngine) -> None:  # noqa: F811
    store = CaseStore(case_engine)
    closed = await opened(store, "lag-closed", 1_000, "stu-1")
    await store.close(closed, "self_recovered", at=9_000)
    found = await case_to_answer(store, ["stu-1"], closed_since=9_000)
    assert found is not None and found.case_id == closed
    assert await case_to_answer(store, ["stu-1"], closed_since=9_001) is None
    older = await opened(store, "lag-older", 2_000, "stu-2")
    await store.close(older, "self_recovered", at=2_500)
    newer = await opened(store, "lag-newer", 3_000, "stu-2")
    found = await case_to_answer(store, ["stu-1", "stu-2"], closed_since=0)
    assert found is not None and found.case_id == newer  # open before closed, newest first
    await store.close(newer, "self_recovered", at=9_500)
    found = await case_to_answer(store, ["stu-1", "stu-2"], closed_since=0)
    assert found is not None and found.case_id == newer  # the newest closed
    found = await case_to_answer(store, ["stu-2"], closed_since=0)
    assert found is not None and found.case_id == newer and older != newer
    assert await case_to_answer(store, ["stu-3"], closed_since=0) is None
