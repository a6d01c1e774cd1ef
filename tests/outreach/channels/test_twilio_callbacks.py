"""Status callbacks: signed by the stand-in as Twilio does, verified, mapped; forgeries get 403."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator

from detectors.records import Incident
from monitor.simulate.twilio_standin import TwilioStandIn, post_signed
from outreach.channels import OutboundMessage
from outreach.channels.twilio_callbacks import create_app, timeline_sink
from outreach.channels.twilio_client import TwilioSender, TwilioSettings
from outreach.channels.twilio_sms import TwilioSmsChannel
from outreach.channels.twilio_voice import TwilioVoiceChannel
from outreach.decide.decision import ChannelName
from outreach.decide.signals import CallbackEvent, MenuChoice, classify, menu_choice
from outreach.store.cases import CaseStore
from outreach.store.db import make_engine, upgrade
from tests.support.channel_fakes import FakeSleep, serve_asgi

Event = CallbackEvent | MenuChoice


@pytest.fixture
def standin() -> Iterator[TwilioStandIn]:
    with TwilioStandIn() as server:
        yield server


def test_classify_and_menu() -> None:
    for status in ("no-answer", "busy", "failed", "canceled"):
        assert classify("call", status) == "fallback"
    assert classify("call", "completed") == "attempt_outcome"
    assert classify("call", "ringing") == "progress"
    assert classify("call", "completed", "machine_start") == "fallback"
    assert classify("call", "completed", "human") == "attempt_outcome"
    assert classify("sms", "undelivered") == "fallback"
    assert classify("sms", "delivered") == "attempt_outcome"
    assert classify("sms", "sent") == "progress"
    assert [menu_choice(d) for d in ("1", "2", "9", "")] == [
        "technician",
        "call_back",
        "none",
        "none",
    ]


async def place_call(
    standin: TwilioStandIn, base: str, channel_cls: type = TwilioVoiceChannel
) -> str:
    settings = TwilioSettings(
        standin.account_sid,
        standin.auth_token,
        "+14155550100",
        api_base_url=standin.base_url,
        status_callback_url=f"{base}/twilio/status",
        gather_action_url=f"{base}/twilio/gather",
    )
    channel = channel_cls(settings, TwilioSender(settings, sleep=FakeSleep()))
    kind: ChannelName = "call" if channel_cls is TwilioVoiceChannel else "sms"
    msg = OutboundMessage("case-9:1", "case-9", "stu-9", kind, "disconnect", to="+8613812345678")
    try:
        result = await channel.send(msg)
    finally:
        await channel.aclose()
    assert result.provider_id
    return str(result.provider_id)


@pytest.mark.parametrize(
    ("status", "kind"),
    [("no-answer", "fallback"), ("busy", "fallback"), ("completed", "attempt_outcome")],
)
async def test_signed_call_callbacks_are_accepted_and_mapped(
    standin: TwilioStandIn, status: str, kind: str
) -> None:
    events: list[Event] = []

    async def sink(event: Event) -> None:
        events.append(event)

    async with serve_asgi(create_app(standin.auth_token, sink)) as base:
        sid = await place_call(standin, base)
        code = await asyncio.to_thread(
            standin.send_status_callback, sid, status, {"CallDuration": "42"}
        )
    assert code == 204
    [event] = events
    assert isinstance(event, CallbackEvent)
    assert (event.kind, event.status, event.provider_id) == (kind, status, sid)
    assert (event.case_id, event.message_id, event.channel) == ("case-9", "case-9:1", "call")
    assert event.detail == {"CallDuration": "42"}


async def test_sms_delivery_report(standin: TwilioStandIn) -> None:
    events: list[Event] = []

    async def sink(event: Event) -> None:
        events.append(event)

    async with serve_asgi(create_app(standin.auth_token, sink)) as base:
        sid = await place_call(standin, base, TwilioSmsChannel)
        assert await asyncio.to_thread(standin.send_status_callback, sid, "undelivered") == 204
    assert isinstance(events[0], CallbackEvent) and events[0].kind == "fallback"
    assert events[0].channel == "sms"


async def test_forged_or_unsigned_callbacks_get_403(standin: TwilioStandIn) -> None:
    events: list[Event] = []

    async def sink(event: Event) -> None:
        events.append(event)

    async with serve_asgi(create_app(standin.auth_token, sink)) as base:
        url = f"{base}/twilio/status?case_id=case-9&message_id=m&channel=call"
        params = {"CallSid": "CA1", "CallStatus": "completed"}
        good = standin.signature(url, params)
        wrong_key = RequestValidator("not-the-token").compute_signature(url, params)
        tampered = {**params, "CallStatus": "no-answer"}
        results = await asyncio.gather(
            asyncio.to_thread(post_signed, url, params, ""),
            asyncio.to_thread(post_signed, url, params, wrong_key),
            asyncio.to_thread(post_signed, url, tampered, good),
            asyncio.to_thread(post_signed, url + "x", params, good),
            asyncio.to_thread(post_signed, url, params, good),
        )
    assert list(results) == [403, 403, 403, 403, 204]
    assert len(events) == 1


async def test_gather_answers_with_twiml(standin: TwilioStandIn) -> None:
    events: list[Event] = []

    async def sink(event: Event) -> None:
        events.append(event)

    async with serve_asgi(create_app(standin.auth_token, sink, queue="techs")) as base:
        url = f"{base}/twilio/gather?case_id=case-9&message_id=m1&channel=call&lang=zh-CN"
        params = {"CallSid": "CA1", "Digits": "1"}
        code = await asyncio.to_thread(post_signed, url, params, standin.signature(url, params))
    assert code == 200
    assert events == [MenuChoice("technician", "1", "CA1", "case-9", "m1")]


async def test_public_base_url_behind_a_proxy(standin: TwilioStandIn) -> None:
    events: list[Event] = []

    async def sink(event: Event) -> None:
        events.append(event)

    public = "https://firstcall.example"
    app = create_app(standin.auth_token, sink, public_base_url=public)
    async with serve_asgi(app) as base:
        params = {"MessageSid": "SM1", "MessageStatus": "delivered"}
        signature = standin.signature(f"{public}/twilio/status?channel=sms", params)
        code = await asyncio.to_thread(
            post_signed, f"{base}/twilio/status?channel=sms", params, signature
        )
    assert code == 204 and len(events) == 1


async def test_timeline_sink_records_on_the_case(tmp_path: Path) -> None:
    engine = make_engine(str(tmp_path / "c.db"))
    await upgrade(engine)
    store = CaseStore(engine)
    incident = Incident("lag-9", "lag", "open", 0, 1, None, {}, {}, "s", "stu-9", "r")
    case = (await store.open_case(incident, {})).case
    seen: list[Event] = []

    async def then(event: Event) -> None:
        seen.append(event)

    sink = timeline_sink(store, then)
    await sink(CallbackEvent("fallback", "call", "no-answer", "CA1", case.case_id, "m1"))
    await sink(MenuChoice("call_back", "2", "CA1", case.case_id, "m1"))
    kinds = [(e.kind, e.actor) for e in await store.timeline(case.case_id)]
    assert kinds == [("opened", "system"), ("call_fallback", "twilio"), ("menu_choice", "twilio")]
    assert len(seen) == 2
    await engine.dispose()


async def test_standin_finishes_calls_by_itself() -> None:
    events: list[Event] = []

    async def sink(event: Event) -> None:
        events.append(event)

    with TwilioStandIn(auto_status="completed", auto_delay_s=0.05) as standin:
        standin.script_outcomes("no-answer")
        async with serve_asgi(create_app(standin.auth_token, sink)) as base:
            first = await place_call(standin, base)
            second = await place_call(standin, base)
            for _ in range(200):
                if len(events) == 2:
                    break
                await asyncio.sleep(0.01)
    got = {e.provider_id: (e.kind, e.status) for e in events if isinstance(e, CallbackEvent)}
    assert got == {first: ("fallback", "no-answer"), second: ("attempt_outcome", "completed")}


async def test_standin_ends_each_call_as_its_number_says() -> None:
    events: list[Event] = []

    async def sink(event: Event) -> None:
        events.append(event)

    def status_of(kind: str, to: str) -> str | None:
        assert kind == "Calls"
        return "no-answer" if to == "+8613812345678" else None

    with TwilioStandIn(auto_status="completed", auto_delay_s=0.05, status_of=status_of) as standin:
        async with serve_asgi(create_app(standin.auth_token, sink)) as base:
            missed = await place_call(standin, base)
            for _ in range(200):
                if events:
                    break
                await asyncio.sleep(0.01)
    got = {e.provider_id: (e.kind, e.status) for e in events if isinstance(e, CallbackEvent)}
    assert got == {missed: ("fallback", "no-answer")}
