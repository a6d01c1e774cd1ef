"""The dispatcher with fake channels: whom it contacts, what it records on the case."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident, Outreach
from outreach.channels import CHANNEL_NAMES
from outreach.contact.dispatch import Dispatcher
from outreach.store.cases import CaseStore
from outreach.store.directory import DirectoryStore
from outreach.store.directory_import import import_file
from tests.support.casedb import case_engine  # noqa: F401
from tests.support.channel_fakes import FakeChannel

CSV = (
    "student_id,student_name,guardian_name,phone,relation,preferred_channel,"
    "language,time_zone,quiet_hours,do_not_call\n"
    "stu-1,小明,王先生,+8613912345678,father,call,zh-CN,Asia/Shanghai,,yes\n"
    "stu-1,小明,王奶奶,+8613812345678,grandmother,call,zh-CN,Asia/Shanghai,,no\n"
    "stu-2,Amy,Joe,,grandfather,chat,en,America/Los_Angeles,,yes\n"
)


async def setup(
    engine: AsyncEngine, tmp_path: Path
) -> tuple[CaseStore, Dispatcher, dict[str, FakeChannel]]:
    path = tmp_path / "d.csv"
    path.write_text(CSV, encoding="utf-8")
    directory = DirectoryStore(engine)
    assert (await import_file(path, directory)).imported
    cases = CaseStore(engine)
    fakes = {name: FakeChannel(name) for name in CHANNEL_NAMES}
    return cases, Dispatcher(cases, directory, fakes), fakes  # type: ignore[arg-type]


async def open_case(cases: CaseStore, student: str) -> str:
    incident = Incident(
        f"disconnect-{student}", "disconnect", "open", 0, 5, None, {}, {}, "s", student, "r"
    )
    return (await cases.open_case(incident, {"hold_off_ms": 10_000})).case.case_id


def decision(case_id: str, action: str, student: str = "stu-1") -> Outreach:
    return Outreach("inc", case_id, "s", student, action, "disconnect", 5)  # type: ignore[arg-type]


async def test_call_goes_to_the_first_guardian_who_may_be_called(
    case_engine: AsyncEngine,  # noqa: F811
    tmp_path: Path,
) -> None:
    cases, dispatcher, fakes = await setup(case_engine, tmp_path)
    cid = await open_case(cases, "stu-1")
    result = await dispatcher.execute(decision(cid, "call"), "disconnect", "ipad")
    assert result is not None and result.status == "delivered"
    [sent] = fakes["call"].sent
    assert sent.to == "+8613812345678"  # the father asked not to be called
    assert (sent.message_id, sent.device, sent.language) == (f"{cid}:call:1", "ipad", "zh-CN")
    case = await cases.get(cid)
    assert case is not None and case.state == "contacting" and case.attempts == 1
    attempt = (await cases.timeline(cid))[-1]
    assert attempt.kind == "attempt" and attempt.data["to"] == "+86*******5678"
    again = await dispatcher.execute(decision(cid, "sms"), "disconnect")
    assert again is not None and fakes["sms"].sent[0].message_id == f"{cid}:sms:2"


async def test_chat_needs_no_phone_but_calls_do(case_engine: AsyncEngine, tmp_path: Path) -> None:  # noqa: F811
    cases, dispatcher, fakes = await setup(case_engine, tmp_path)
    cid = await open_case(cases, "stu-2")
    chat = await dispatcher.execute(decision(cid, "chat", "stu-2"), "lag")
    assert chat is not None and chat.ok and fakes["chat"].sent[0].language == "en"
    call = await dispatcher.execute(decision(cid, "call", "stu-2"), "lag")
    assert call is not None and call.reason == "no_reachable_guardian" and fakes["call"].sent == []


@pytest.mark.parametrize("action", ["none", "agent_queue"])
async def test_nothing_to_send(case_engine: AsyncEngine, tmp_path: Path, action: str) -> None:  # noqa: F811
    cases, dispatcher, fakes = await setup(case_engine, tmp_path)
    cid = await open_case(cases, "stu-1")
    assert await dispatcher.execute(decision(cid, action), "lag") is None
    case = await cases.get(cid)
    assert case is not None and case.state == (
        "waiting_agent" if action == "agent_queue" else "open"
    )
    assert all(f.sent == [] for f in fakes.values())


async def test_a_resolved_case_is_not_contacted(case_engine: AsyncEngine, tmp_path: Path) -> None:  # noqa: F811
    cases, dispatcher, fakes = await setup(case_engine, tmp_path)
    cid = await open_case(cases, "stu-1")
    await cases.transition(cid, "resolved", outcome="self_recovered")
    result = await dispatcher.execute(decision(cid, "call"), "lag")
    assert result is not None and result.reason == "case_resolved" and fakes["call"].sent == []
