"""A confirmed offer reaches the family by their channel: an SMS once to a guardian who
prefers the phone (not in quiet hours, not after STOP); the in-app message for the others."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.channels.goodwill_hook import SchedulingHook
from outreach.contact.goodwill import GoodwillMetrics, HookDispatcher
from outreach.contact.goodwill_family import FamilySms
from outreach.decide.family import Guardian, Student, parse_quiet_hours
from outreach.store.cases import CaseStore
from outreach.store.directory import DirectoryStore
from outreach.store.goodwill import GoodwillStore
from outreach.store.optouts import SmsOptOuts
from outreach.store.outbox import Outbox
from tests.support.casedb import case_engine  # noqa: F401
from tests.support.channel_fakes import FakeChannel
from tests.support.goodwill_receiver import (
    KEY,
    Receiver,
    confirmed_families,
    family_sms_rows,
    start_receiver,
)

NOON_OSLO = 1_767_265_200_000  # 2026-01-01 12:00 Europe/Oslo
PHONE = {"stu-1": "+4791234561", "stu-2": "+4791234562"}


def student(sid: str, channel: str, quiet: str = "") -> Student:
    return Student(sid, sid, "en", "Europe/Oslo", (Guardian(
        "Mum", PHONE.get(sid), "mother", channel, "en", "Europe/Oslo",  # type: ignore[arg-type]
        parse_quiet_hours(quiet), False),))


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found, runner = await start_receiver(KEY)
    yield found
    await runner.cleanup()


def dispatcher(engine: AsyncEngine, url: str, sms: FakeChannel | None,
               now: int = NOON_OSLO) -> HookDispatcher:
    family = None if sms is None else FamilySms(
        DirectoryStore(engine), SmsOptOuts(engine), sms, lambda: now)
    return HookDispatcher(GoodwillStore(engine), SchedulingHook(url, KEY, timeout_s=5),
                          GoodwillMetrics.create(), family)


async def told(engine: AsyncEngine, case_id: str) -> list[dict[str, object]]:
    return [e.data for e in await CaseStore(engine).timeline(case_id)
            if e.kind == "goodwill_family_told"]


async def test_an_sms_family_gets_one_sms_and_a_chat_family_the_in_app_message(
        case_engine: AsyncEngine, receiver: Receiver) -> None:  # noqa: F811
    await DirectoryStore(case_engine).save([student("stu-1", "sms"), student("stu-2", "chat")])
    sms_case, chat_case = await confirmed_families(case_engine, ["stu-1", "stu-2"])
    sms = FakeChannel("sms")
    assert await dispatcher(case_engine, receiver.url, sms).deliver_pending() == 2
    await dispatcher(case_engine, receiver.url, sms).deliver_pending()  # restarted
    assert [(m.to, m.case_id, m.channel) for m in sms.sent] == [("+4791234561", sms_case, "sms")]
    assert sms.sent[0].text is not None and "make-up lesson" in sms.sent[0].text
    assert await told(case_engine, sms_case) == [
        {"channel": "sms", "result": "sent", "detail": "fake-1"}]
    assert await told(case_engine, chat_case) == [
        {"channel": "in_app", "result": "skipped", "detail": "prefers_chat"}]
    assert [m.payload["goodwill"] for m in await Outbox(case_engine).pending("stu-2")] == [
        "makeup"]
    assert not await family_sms_rows(case_engine)


async def test_quiet_hours_wait_and_stop_is_respected(
        case_engine: AsyncEngine, receiver: Receiver) -> None:  # noqa: F811
    await DirectoryStore(case_engine).save([student("stu-1", "sms", quiet="11:00-13:00"),
                                            student("stu-2", "sms")])
    quiet_case, stop_case = await confirmed_families(case_engine, ["stu-1", "stu-2"])
    await SmsOptOuts(case_engine).opt_out(PHONE["stu-2"], "SM" + "0" * 32)
    sms = FakeChannel("sms")
    await dispatcher(case_engine, receiver.url, sms).deliver_pending()
    assert sms.sent == []
    assert [r.case_id for r in await family_sms_rows(case_engine)] == [quiet_case]
    assert await told(case_engine, stop_case) == [
        {"channel": "in_app", "result": "skipped", "detail": "opted_out"}]
    later = NOON_OSLO + 2 * 3_600_000  # 14:00: quiet hours are over
    await dispatcher(case_engine, receiver.url, sms, now=later).deliver_pending()
    assert [m.case_id for m in sms.sent] == [quiet_case]
    assert not await family_sms_rows(case_engine)


async def test_without_an_sms_channel_the_family_keeps_the_in_app_message(
        case_engine: AsyncEngine, receiver: Receiver) -> None:  # noqa: F811
    await DirectoryStore(case_engine).save([student("stu-1", "sms")])
    [cid] = await confirmed_families(case_engine, ["stu-1"])
    assert await dispatcher(case_engine, receiver.url, None).deliver_pending() == 1
    assert await told(case_engine, cid) == [
        {"channel": "in_app", "result": "skipped", "detail": "no_sms_channel"}]
    assert receiver.accepted == {cid: 1}
