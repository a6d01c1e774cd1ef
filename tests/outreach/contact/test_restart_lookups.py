# ruff: noqa: RUF001
"""A restarted runtime looks up the sends whose status it missed (issue #20, point 6).

A call or SMS whose status callback was refused while the service restarted is looked up
at the provider, and a final status moves the chain on at once; a chat the app acked just
before the process died is recorded as the attempt from the outbox.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import connect

from detectors.records import case_id_for
from outreach.channels.base import OutboundMessage, ProviderStatus, SendResult
from outreach.channels.chat import ChatChannel
from outreach.channels.chat_gateway import ChatGateway, ChatReply
from outreach.channels.chat_tokens import make_token
from outreach.contact.chain import Waits
from outreach.contact.recovery import RECOVERED
from outreach.decide.chat_intents import intent_of
from outreach.decide.decision import ChannelName
from outreach.decide.signals import CallbackEvent
from outreach.store.outbox import Outbox
from tests.support.casedb import case_engine, sqlite_engine  # noqa: F401
from tests.support.channel_fakes import FakeChannel
from tests.support.live_support import Harness, decision, harness, incident, make_runner, until

LONG = Waits(chat_s=60, call_s=60, sms_s=60)  # a wait no test sits out


async def calling(engine: AsyncEngine, tmp_path: Path) -> tuple[Harness, str]:
    """A runner that placed a call (Twilio's CA1, queued) and died waiting for its status."""
    h = await harness(engine, tmp_path, LONG)
    inc = incident(1)
    h.fakes["call"].script(SendResult("queued", provider_id="CA1"))
    await h.runner.handle(inc)
    await h.runner.handle(decision(inc, "call"))
    await until(lambda: len(h.fakes["call"].sent) == 1)
    cid = case_id_for(inc.incident_id)
    await until(lambda: _has(h, cid, "attempt"))
    await h.runner.aclose()  # dies; Twilio's no-answer callback is refused meanwhile
    return h, cid


async def _has(h: Harness, case_id: str, kind: str) -> bool:
    return any(e.kind == kind for e in await h.cases.timeline(case_id))


async def test_a_call_whose_callback_was_missed_is_looked_up_and_the_sms_goes_at_once(
    case_engine: AsyncEngine,  # noqa: F811
    tmp_path: Path,
) -> None:
    h, cid = await calling(case_engine, tmp_path)
    again = h.restart()
    again.fakes["call"].statuses["CA1"] = ProviderStatus("no-answer", "CA1")
    assert await again.runner.resume() == [cid]
    await until(lambda: len(again.fakes["sms"].sent) == 1)  # not after the 60 s call wait
    assert again.fakes["call"].looked_up == ["CA1"] and again.fakes["call"].sent == []
    timeline = await h.cases.timeline(cid)
    [looked] = [e for e in timeline if e.kind == "call_fallback"]
    assert looked.data["status"] == "no-answer" and looked.data["via"] == "status_lookup"
    assert looked.actor == "twilio" and looked.data["message_id"] == f"{cid}:call:1"
    steps = [str(e.data.get("reason")) for e in timeline if e.kind == "fallback"]
    assert steps == ["call_no_answer"]
    looked_up = "firstcall_outreach_status_lookups_total"
    assert again.counted(looked_up, channel="call", result="final") == 1
    await again.runner.aclose()


@pytest.mark.parametrize(
    ("answered_by", "texted", "step"),
    [("machine_end_beep", 1, "call_machine"), ("human", 0, "family_reached_by_call")],
)
async def test_a_completed_call_ends_the_chain_unless_a_machine_answered(
    tmp_path: Path, answered_by: str, texted: int, step: str
) -> None:
    engine = await sqlite_engine(tmp_path)
    h, cid = await calling(engine, tmp_path)
    again = h.restart()
    detail = {"AnsweredBy": answered_by, "CallDuration": "31"}
    again.fakes["call"].statuses["CA1"] = ProviderStatus("completed", "CA1", detail)
    assert await again.runner.resume() == [cid]
    await until(lambda: _steps(h, cid, step))
    if texted:
        await until(lambda: len(again.fakes["sms"].sent) == 1)
    else:
        await again.runner.drain()
        assert again.fakes["sms"].sent == []
    kind = "call_fallback" if texted else "call_attempt_outcome"
    assert [e.data["AnsweredBy"] for e in await h.cases.timeline(cid) if e.kind == kind] == [
        answered_by
    ]
    await again.runner.aclose()
    await engine.dispose()


async def _steps(h: Harness, case_id: str, reason: str) -> bool:
    return any(e.kind == "fallback" and e.data.get("reason") == reason
               for e in await h.cases.timeline(case_id))  # fmt: skip


async def test_a_call_still_ringing_or_unknown_is_waited_for_as_before(tmp_path: Path) -> None:
    engine = await sqlite_engine(tmp_path)
    h, cid = await calling(engine, tmp_path)
    for status in (ProviderStatus("ringing", "CA1"), None):
        again = h.restart()
        if status is not None:
            again.fakes["call"].statuses["CA1"] = status
        assert await again.runner.resume() == [cid]
        await asyncio.sleep(0.2)
        assert again.fakes["sms"].sent == [] and again.fakes["call"].sent == []
        result = "in_progress" if status is not None else "unknown"
        assert again.counted("firstcall_outreach_status_lookups_total", channel="call",
                             result=result) == 1  # fmt: skip
        if status is None:  # the callback comes after all: the chain goes on as ever
            event = CallbackEvent("fallback", "call", "busy", "CA1", cid, f"{cid}:call:1")
            await again.runner.on_callback(event)
            texts = again.fakes["sms"].sent
            await until(lambda texts=texts: len(texts) == 1)  # type: ignore[misc]
        await again.runner.aclose()
    assert not any(e.data.get("via") for e in await h.cases.timeline(cid))
    await engine.dispose()


async def test_an_sms_found_undelivered_goes_to_the_agent_queue_at_once(tmp_path: Path) -> None:
    engine = await sqlite_engine(tmp_path)
    h, cid = await calling(engine, tmp_path)
    again = h.restart()
    again.fakes["call"].statuses["CA1"] = ProviderStatus("busy", "CA1")
    again.fakes["sms"].script(SendResult("queued", provider_id="SM1"))
    await again.runner.resume()
    await until(lambda: len(again.fakes["sms"].sent) == 1)
    await until(lambda: _sms_recorded(again, cid))
    await again.runner.aclose()  # dies again, waiting for the SMS's delivery report
    third = again.restart()
    lost = ProviderStatus("undelivered", "SM1", {"ErrorCode": "30003"})
    third.fakes["sms"].statuses["SM1"] = lost
    assert await third.runner.resume() == [cid]
    await third.runner.drain()
    case = await h.cases.get(cid)
    assert case is not None and case.state == "waiting_agent"
    steps = [str(e.data.get("reason")) for e in await h.cases.timeline(cid) if e.kind == "fallback"]
    assert steps == ["call_busy", "sms_failed"]
    assert third.fakes["sms"].sent == [] and third.fakes["sms"].looked_up == ["SM1"]
    await engine.dispose()


async def _sms_recorded(h: Harness, case_id: str) -> bool:
    return any(e.kind == "attempt" and e.data.get("channel") == "sms"
               for e in await h.cases.timeline(case_id))  # fmt: skip


class DiesAfterTheAck:
    """The real chat channel, in a process that dies once the app's ack is in (before the
    runtime records the attempt): the send never returns."""

    name: ChannelName = "chat"

    def __init__(self, chat: ChatChannel) -> None:
        self.chat = chat
        self.acked = asyncio.Event()

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send, see the ack, then hang until the runner is torn down."""
        result = await self.chat.send(message)
        assert result.status == "delivered"
        self.acked.set()
        await asyncio.Event().wait()
        raise AssertionError("never")

    async def status(self, provider_id: str) -> ProviderStatus | None:
        """As the real channel."""
        return await self.chat.status(provider_id)


async def class_app(gateway: ChatGateway, secret: bytes, shown: asyncio.Event) -> None:
    """The family's app: shows the one message and acks it."""
    token = make_token("stu-1", secret, int(time.time()) + 3600)
    async with connect(f"{gateway.url}?token={token}") as ws:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
        await ws.send(json.dumps({"type": "ack", "id": frame["id"]}))
        shown.set()
        await asyncio.Event().wait()


async def test_a_chat_acked_just_before_the_kill_counts_as_shown_after_the_restart(
    case_engine: AsyncEngine,  # noqa: F811
    tmp_path: Path,
) -> None:
    secret = b"chat-secret"
    inc = incident(1, kind="lag")
    cid = case_id_for(inc.incident_id)
    async with ChatGateway(Outbox(case_engine), secret) as gateway:
        shown = asyncio.Event()
        app = asyncio.create_task(class_app(gateway, secret, shown))
        dying = DiesAfterTheAck(ChatChannel(gateway, ack_timeout_s=5))
        base = await harness(case_engine, tmp_path, LONG)
        h = make_runner(case_engine, base.cases, base.directory, LONG, channels={"chat": dying})
        await h.runner.handle(inc)
        await h.runner.handle(decision(inc, "chat"))
        await asyncio.wait_for(dying.acked.wait(), 5)
        await h.runner.aclose()  # killed between the ack and the attempt's record
        assert not await _has(h, cid, "attempt")
        again = make_runner(case_engine, h.cases, h.directory, LONG,
                            channels={"chat": ChatChannel(gateway)})  # fmt: skip
        assert await again.runner.resume() == [cid]
        await until(lambda: _has(h, cid, "attempt"))  # looked up in the outbox meanwhile
        [attempt] = [e for e in await h.cases.timeline(cid) if e.kind == "attempt"]
        stored = await gateway.outbox.get(f"{cid}:chat:1")
        assert stored is not None and stored.acked_at is not None and shown.is_set()
        assert attempt.at == stored.acked_at  # shown then, recorded now
        assert attempt.data["channel"] == "chat" and attempt.data["status"] == "delivered"
        assert attempt.data["reason"] == RECOVERED
        assert attempt.data["message_id"] == stored.message_id
        looked_up = "firstcall_outreach_status_lookups_total"
        assert again.counted(looked_up, channel="chat", result="shown") == 1
        await asyncio.sleep(0.2)  # the chain waits for the family's answer: nobody is called
        assert again.fakes["call"].sent == [] and again.fakes["sms"].sent == []
        text = "好了，谢谢"
        await again.runner.on_reply(ChatReply("r1", "stu-1", text, intent_of(text), cid, None))
        await again.runner.drain()
        app.cancel()
        await asyncio.gather(app, return_exceptions=True)
    timeline = await h.cases.timeline(cid)
    kinds = [e.kind for e in timeline if e.kind in ("sending", "attempt", "chat_reply", "fallback")]
    assert kinds == ["sending", "attempt", "chat_reply", "fallback"]
    assert [e.data["reason"] for e in timeline if e.kind == "fallback"] == ["family_says_fine"]
    assert again.fakes["call"].sent == [] and again.fakes["sms"].sent == []
    case = await h.cases.get(cid)
    assert case is not None and case.attempts == 1
    assert await again.runner.resume() == []
    await again.runner.aclose()


class StuckLookups(FakeChannel):
    """A provider that never answers a look-up."""

    async def status(self, provider_id: str) -> ProviderStatus | None:
        """Hang."""
        self.looked_up.append(provider_id)
        await asyncio.Event().wait()
        return None


async def test_a_provider_that_does_not_answer_does_not_hold_up_the_start(tmp_path: Path) -> None:
    engine = await sqlite_engine(tmp_path)
    h, cid = await calling(engine, tmp_path)
    stuck = StuckLookups("call")
    again = make_runner(engine, h.cases, h.directory, LONG, channels={"call": stuck})
    assert await asyncio.wait_for(again.runner.resume(), 5) == [cid]
    await until(lambda: stuck.looked_up == ["CA1"])
    assert cid in again.runner.tasks  # the chain waits for the call's status as before
    await again.runner.aclose()
    assert not again.runner.recovery.pending and stuck.sent == []
    await engine.dispose()
