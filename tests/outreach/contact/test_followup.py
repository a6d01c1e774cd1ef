"""Follow-ups sent and answered over fake channels: chat when the app is open, else SMS;
quiet hours, class, do-not-contact and one a day respected; chat answers stored once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from detectors.records import Incident, case_id_for
from outreach.channels.chat_gateway import ChatReply
from outreach.contact.followup import FollowupMetrics, FollowUps
from outreach.contact.followup_answers import FollowupAnswers, answers_first, chat_reply_key
from outreach.contact.metrics import OutreachMetrics
from outreach.store.cases import CaseStore
from outreach.store.directory import DirectoryStore
from outreach.store.directory_import import import_file
from outreach.store.followups import FollowupStore
from outreach.store.queue import QueueStore
from tests.support.casedb import sqlite_engine
from tests.support.channel_fakes import FakeChannel
from tests.support.live_support import FAMILIES, HEADER

T = 1_767_258_000_000  # 2026-01-01 09:00 UTC = 17:00 in Asia/Shanghai
HOUR = 3_600_000
DELAY = 600_000


@dataclass
class Clock:
    """The test's clock."""

    now: int = T

    def __call__(self) -> int:
        return self.now


@dataclass
class Desk:
    """Follow-ups over fake chat and SMS, with the families of `live_support`."""

    clock: Clock
    cases: CaseStore
    queue: QueueStore
    followups: FollowUps
    answers: FollowupAnswers
    chat: FakeChannel
    sms: FakeChannel
    metrics: OutreachMetrics
    app_open: set[str] = field(default_factory=set)
    n: int = 0

    async def closed_case(self, student: str, *, at: int = T) -> str:
        """A case of `student` the family was contacted about, closed at `at`."""
        self.n += 1
        inc = Incident(f"lag-{student}-{self.n}", "lag", "open", at - 120_000, at - 115_000, None,
                       {}, {}, f"sess-{self.n}", student, "room-1")  # fmt: skip
        case_id = (await self.cases.open_case(inc, {}, at=at - 120_000)).case.case_id
        await self.cases.record_attempt(case_id, "call", at=at - 100_000)
        await self.cases.close(case_id, "resolved_by_call", at=at)
        return case_id

    def counted(self, name: str, **labels: str) -> float:
        """A metric sample (0 when absent)."""
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def d(tmp_path: Path) -> AsyncIterator[Desk]:
    engine = await sqlite_engine(tmp_path)
    (tmp_path / "families.csv").write_text(HEADER + FAMILIES, encoding="utf-8")
    directory = DirectoryStore(engine)
    assert (await import_file(tmp_path / "families.csv", directory)).imported
    clock = Clock()
    cases = CaseStore(engine, clock)
    queue = QueueStore(engine, cases, clock)
    chat, sms = FakeChannel("chat"), FakeChannel("sms")
    metrics = OutreachMetrics.create()
    fm = FollowupMetrics.create(metrics.registry)
    opened: set[str] = set()
    followups = FollowUps(cases, directory, {"chat": chat, "sms": sms}, fm, queue=queue,
                          app_open=opened.__contains__, wall=clock)  # fmt: skip
    answers = FollowupAnswers(cases, fm, queue=queue, wall=clock)
    yield Desk(clock, cases, queue, followups, answers, chat, sms, metrics, opened)
    await engine.dispose()


async def test_an_open_app_gets_the_question_in_chat_and_a_chat_answer_is_stored_once(
    d: Desk,
) -> None:
    case_id = await d.closed_case("stu-1")
    d.app_open.add("stu-1")
    assert await d.followups.sweep(T + DELAY) == [case_id]
    [asked] = d.chat.sent
    assert (asked.message_id, asked.case_id) == (f"followup-{case_id}", case_id)
    assert "请回复1到5分" in (asked.text or "") and d.sms.sent == []
    passed_on: list[ChatReply] = []

    async def runtime(reply: ChatReply) -> None:
        passed_on.append(reply)

    handler = answers_first(d.answers, runtime)
    reply = ChatReply("r-1", "stu-1", "5 谢谢老师", "resolved", case_id, asked.message_id)
    await handler(reply)
    await handler(reply)  # the app resends a reply it saw no ack for
    other = ChatReply("r-2", "stu-1", "好了", "resolved", "case-elsewhere", None)
    await handler(other)
    assert passed_on == [other]  # not a follow-up's answer: the runtime takes it
    found = await FollowupStore(d.cases.engine).get(case_id)
    assert found is not None and (found.state, found.score, found.comment) == (
        "answered", 5, "谢谢老师")
    events = [e.data for e in await d.cases.timeline(case_id) if e.kind == "satisfaction"]
    assert events == [{"score": 5, "comment": "谢谢老师", "agent": None,
                       "reply_id": chat_reply_key("stu-1", "r-1"), "follow_up": None}]
    assert await d.queue.rows() == []  # a good score needs nobody
    assert d.counted("firstcall_followup_answers_total", score="5", result="recorded") == 1
    assert d.counted("firstcall_followup_answers_total", score="5", result="duplicate") == 1


async def test_a_family_answers_only_its_own_follow_up_and_reply_ids_are_per_family(
    d: Desk,
) -> None:
    ours, theirs = await d.closed_case("stu-1"), await d.closed_case("stu-sms")
    d.app_open.update({"stu-1", "stu-sms"})
    assert sorted(await d.followups.sweep(T + DELAY)) == sorted([ours, theirs])
    # stu-sms's app names stu-1's case: not taken as an answer (the runtime gets it).
    assert not await d.answers.answer_chat(
        ChatReply("r-1", "stu-sms", "1", "unknown", ours, None))
    # Both apps number their replies from r-1: two answers, one each.
    assert await d.answers.answer_chat(ChatReply("r-1", "stu-1", "4", "unknown", ours, None))
    assert await d.answers.answer_chat(ChatReply("r-1", "stu-sms", "5", "unknown", theirs, None))
    store = FollowupStore(d.cases.engine)
    assert [(await store.get(c)).score for c in (ours, theirs)] == [4, 5]  # type: ignore[union-attr]


async def test_quiet_hours_hold_the_sms_until_they_end(d: Desk) -> None:
    case_id = await d.closed_case("stu-quiet")  # quiet 16:00-20:00 in Shanghai; now 17:00
    assert await d.followups.sweep(T + DELAY) == []
    assert (await FollowupStore(d.cases.engine).get(case_id)).state == "scheduled"  # type: ignore[union-attr]
    assert await d.followups.sweep(T + 3 * HOUR) == [case_id]  # 20:00
    [asked] = d.sms.sent
    assert asked.to == "+8613812341111" and "回复TD退订" in (asked.text or "")


async def test_do_not_contact_families_are_not_asked(d: Desk) -> None:
    case_id = await d.closed_case("stu-dnc")
    assert await d.followups.sweep(T + DELAY) == []
    assert d.sms.sent == [] and d.chat.sent == []
    skipped = [e.data for e in await d.cases.timeline(case_id) if e.kind == "followup_skipped"]
    assert skipped == [{"reason": "do_not_contact"}]
    assert d.counted("firstcall_followup_steps_total", step="skipped",
                     reason="do_not_contact") == 1


async def test_one_a_day_never_in_class_and_never_again_without_an_answer(d: Desk) -> None:
    first = await d.closed_case("stu-sms", at=T)
    second = await d.closed_case("stu-sms", at=T + HOUR)
    # A new lesson is on with a problem: nothing goes while the child is in class.
    live = Incident("lag-live", "lag", "open", T, T + 1, None, {}, {}, "s", "stu-sms", "r")
    live_case = (await d.cases.open_case(live, {}, at=T)).case.case_id
    assert await d.followups.sweep(T + 2 * HOUR) == []
    await d.cases.close(live_case, "self_recovered", at=T + 2 * HOUR)
    # Out of class: one follow-up goes, the other case's is never sent (one a day).
    assert await d.followups.sweep(T + 2 * HOUR + 1) == [first]
    assert len(d.sms.sent) == 1
    store = FollowupStore(d.cases.engine)
    assert (await store.get(second)).reason == "unanswered"  # type: ignore[union-attr]
    # Days later a new case: the family never answered, so it is not asked again.
    later = await d.closed_case("stu-sms", at=T + 3 * 86_400_000)
    assert await d.followups.sweep(T + 3 * 86_400_000 + DELAY) == []
    assert (await store.get(later)).reason == "unanswered"  # type: ignore[union-attr]
    assert len(d.sms.sent) == 1 and case_id_for("lag-live") == live_case


async def test_a_complaint_with_a_good_score_still_reaches_a_person(d: Desk) -> None:
    case_id = await d.closed_case("stu-sms")
    assert await d.followups.sweep(T + DELAY) == [case_id]
    d.clock.now = T + 2 * HOUR
    replied = await d.answers.answer_sms(["stu-sms"], "5 but it was still lagging", "SM-9")
    assert replied is not None and replied.result == "follow_up_case"
    [row] = await d.queue.rows()
    assert (row.kind, row.reason) == ("satisfaction", "complaint")
    # A family with a live problem: its SMS is about that, not the follow-up.
    d2 = await d.closed_case("stu-1")
    assert await d.followups.sweep(T + 2 * HOUR) == [d2]
    inc = Incident("lag-now", "lag", "open", T, T + 1, None, {}, {}, "s", "stu-1", "r")
    await d.cases.open_case(inc, {}, at=d.clock.now)
    assert await d.answers.answer_sms(["stu-1"], "1", "SM-10") is None
