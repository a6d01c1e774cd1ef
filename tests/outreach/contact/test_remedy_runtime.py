"""The one-tap fix on a live case: offered in the chat, taken, then recovered or not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from detectors.records import Incident, case_id_for
from outreach.channels.base import SendResult
from outreach.channels.chat_gateway import ChatReply
from outreach.contact.chain import Waits
from tests.support.casedb import sqlite_engine
from tests.support.live_support import Harness, decision, harness, incident, until

QUEUED = SendResult("queued", provider_id="p")
DOWNLINK = {"rule": "3 of last 5 intervals degraded", "intervals": [
    {"ts": 1, "interval_ms": 2000, "degraded": ["loss"]},
    {"ts": 2, "interval_ms": 2000, "degraded": ["loss", "low_fps"]},
    {"ts": 3, "interval_ms": 2000, "degraded": ["loss"]},
]}
ROUTE = {"intervals": [{"ts": 1, "interval_ms": 2000, "degraded": ["rtt"]}]}


async def started(tmp_path: Path, remedy_s: float) -> Harness:
    engine = await sqlite_engine(tmp_path)
    return await harness(engine, tmp_path, Waits(chat_s=30, call_s=0.05, sms_s=0.05,
                                                 remedy_s=remedy_s))


@pytest.fixture
async def patient(tmp_path: Path) -> AsyncIterator[Harness]:
    """The class gets the whole minute to recover after the tap."""
    h = await started(tmp_path, remedy_s=60)
    yield h
    await h.runner.aclose()


@pytest.fixture
async def hurried(tmp_path: Path) -> AsyncIterator[Harness]:
    """A remedy window that is over at once: the class did not recover within it."""
    h = await started(tmp_path, remedy_s=0.05)
    yield h
    await h.runner.aclose()


def tapped(case_id: str) -> ChatReply:
    """The SDK's reply after it lowered the video (`intent: remedy_applied`)."""
    return ChatReply("r-remedy", "stu-1", "切换到流畅画面", "remedy_applied", case_id,
                     f"{case_id}:chat:1")


async def offered(h: Harness, evidence: dict[str, object]) -> tuple[Incident, str]:
    inc = replace(incident(1, kind="lag"), evidence=evidence)
    h.fakes["chat"].script(QUEUED)
    await h.runner.handle(inc)
    await h.runner.handle(decision(inc, "chat"))
    await until(lambda: len(h.fakes["chat"].sent) == 1)
    return inc, case_id_for(inc.incident_id)


async def finish(h: Harness, inc: Incident) -> str:
    ended = incident(1, "closed", kind="lag")
    await h.runner.on_incident(ended)
    await h.runner.close_quiet((ended.ended_at or 0) + h.runner.policy.case_reopen_ms)
    [record] = [r for r in h.sink.records if r.incident_id == inc.incident_id]
    return record.outcome


async def steps(h: Harness, case_id: str) -> list[str]:
    return [str(e.data["reason"]) for e in await h.cases.timeline(case_id) if e.kind == "fallback"]


async def test_the_downlink_lag_chat_offers_the_lighter_picture(patient: Harness) -> None:
    _, cid = await offered(patient, DOWNLINK)
    [sent] = patient.fakes["chat"].sent
    assert sent.remedy == "lighter_picture"
    [announce] = [e for e in await patient.cases.timeline(cid) if e.kind == "sending"]
    assert announce.data["remedy"] == "lighter_picture"


async def test_a_route_lag_gets_no_offer(patient: Harness) -> None:
    await offered(patient, ROUTE)
    assert patient.fakes["chat"].sent[0].remedy is None


async def test_the_class_recovers_within_the_minute_resolved_by_remedy(patient: Harness) -> None:
    inc, cid = await offered(patient, DOWNLINK)
    await patient.runner.on_reply(tapped(cid))
    await until(lambda: patient.counted("firstcall_outreach_fallback_steps_total",
                                        channel="chat", step="wait",
                                        reason="remedy_applied") == 1)
    assert await finish(patient, inc) == "resolved_by_remedy"
    assert await steps(patient, cid) == ["recovered_after_remedy"]
    assert patient.fakes["call"].sent == []
    [reply] = [e for e in await patient.cases.timeline(cid) if e.kind == "chat_reply"]
    assert reply.data["intent"] == "remedy_applied"


async def test_not_recovered_within_the_window_the_usual_path_continues(hurried: Harness) -> None:
    inc, cid = await offered(hurried, DOWNLINK)
    hurried.fakes["call"].script(QUEUED)
    hurried.fakes["sms"].script(QUEUED)
    await hurried.runner.on_reply(tapped(cid))
    await until(lambda: len(hurried.fakes["call"].sent) == 1)
    await hurried.runner.drain()
    assert (await steps(hurried, cid))[0] == "remedy_did_not_help"
    assert await finish(hurried, inc) == "escalated"
