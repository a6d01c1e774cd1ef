"""Answering-machine detection: on by default, shaped as Twilio's description says, and a
machine (or fax) pickup is no answer: the chain goes on to SMS."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from monitor.simulate.twilio_standin import TwilioStandIn
from outreach.channels import OutboundMessage
from outreach.channels.twilio_callbacks import create_app
from outreach.channels.twilio_client import TwilioSender, TwilioSettings
from outreach.channels.twilio_sms import TwilioSmsChannel
from outreach.channels.twilio_voice import TwilioVoiceChannel
from outreach.decide.signals import CallbackEvent, MenuChoice, callback_signal
from tests.support.channel_fakes import FakeSleep, serve_asgi
from tests.support.twilio_spec import shape_problems


@pytest.fixture
def standin() -> Iterator[TwilioStandIn]:
    with TwilioStandIn() as server:
        yield server


def settings(standin: TwilioStandIn, base: str = "http://cb.test") -> TwilioSettings:
    return TwilioSettings(standin.account_sid, standin.auth_token, "+14155550100",
                          api_base_url=standin.base_url,
                          status_callback_url=f"{base}/twilio/status",
                          gather_action_url=f"{base}/twilio/gather")


async def send(channel: TwilioVoiceChannel | TwilioSmsChannel) -> str:
    kind = channel.name
    msg = OutboundMessage("case-9:1", "case-9", "stu-9", kind, "disconnect", to="+8613812345678")
    try:
        result = await channel.send(msg)
    finally:
        await channel.aclose()
    assert result.ok, result
    return str(result.provider_id)


async def test_calls_to_families_ask_for_machine_detection_by_default(
        standin: TwilioStandIn) -> None:
    s = settings(standin)
    await send(TwilioVoiceChannel(s, TwilioSender(s, sleep=FakeSleep())))
    [create] = [r for r in standin.requests if r.path.endswith("/Calls.json")]
    assert create.param("MachineDetection") == "DetectMessageEnd"  # leave the message


async def test_call_and_message_requests_have_the_official_shape(standin: TwilioStandIn) -> None:
    s = settings(standin)
    await send(TwilioVoiceChannel(s, TwilioSender(s, sleep=FakeSleep())))
    await send(TwilioSmsChannel(s, TwilioSender(s, sleep=FakeSleep())))
    calls, messages = standin.requests
    assert shape_problems("Calls", calls.params) == []
    assert shape_problems("Messages", messages.params) == []


def test_the_standin_refuses_a_machine_detection_twilio_would_refuse() -> None:
    assert shape_problems("Calls", {"To": ["+1"], "From": ["+1"], "MachineDetection": ["On"]})


@pytest.mark.parametrize("answered_by", ["machine_end_beep", "machine_start", "fax"])
async def test_a_machine_pickup_is_no_answer(standin: TwilioStandIn, answered_by: str) -> None:
    events: list[CallbackEvent | MenuChoice] = []

    async def sink(event: CallbackEvent | MenuChoice) -> None:
        events.append(event)

    async with serve_asgi(create_app(standin.auth_token, sink)) as base:
        s = settings(standin, base)
        sid = await send(TwilioVoiceChannel(s, TwilioSender(s, sleep=FakeSleep())))
        code = await asyncio.to_thread(standin.send_status_callback, sid, "completed",
                                       {"AnsweredBy": answered_by, "CallDuration": "25"})
    assert code == 204
    [event] = events
    assert isinstance(event, CallbackEvent) and event.kind == "fallback"
    assert callback_signal(event) == "machine"
