"""A call's or message's status looked up at Twilio (`Channel.status`), through the real
`twilio` library against the stand-in, when its status callback found nobody listening."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import pytest

from monitor.simulate.twilio_standin import TwilioStandIn
from outreach.channels import OutboundMessage
from outreach.channels.base import ProviderStatus
from outreach.channels.twilio_client import TwilioSender, TwilioSettings
from outreach.channels.twilio_sms import TwilioSmsChannel
from outreach.channels.twilio_voice import TwilioVoiceChannel
from tests.support.channel_fakes import FakeSleep
from tests.support.twilio_spec import fetch_problems

TO = "+8613812345678"
CALL = OutboundMessage(message_id="case-1:call:1", case_id="case-1", student_id="stu-1",
                       channel="call", fault="disconnect", to=TO, device="ipad")  # fmt: skip
SMS = OutboundMessage(message_id="case-1:sms:2", case_id="case-1", student_id="stu-1",
                      channel="sms", fault="disconnect", to=TO, device="ipad")  # fmt: skip


def nobody_listening() -> str:
    """A callback URL on a port nothing listens on (the service is restarting)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/twilio/status"


@pytest.fixture
async def standin() -> AsyncIterator[TwilioStandIn]:
    with TwilioStandIn(auto_delay_s=0.01) as server:
        yield server


def settings(standin: TwilioStandIn) -> TwilioSettings:
    return TwilioSettings(standin.account_sid, standin.auth_token, "+14155550100",
                          api_base_url=standin.base_url,
                          status_callback_url=nobody_listening())  # fmt: skip


async def settled(standin: TwilioStandIn, sid: str, status: str) -> None:
    async with asyncio.timeout(5):
        while standin.resource(sid)["status"] != status:
            await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    ("outcome", "detail"),
    [("no-answer", {}), ("completed", {"AnsweredBy": "machine_end_beep"}), ("busy", {})],
)
async def test_a_call_whose_callback_was_refused_is_fetched_as_it_ended(
    standin: TwilioStandIn, outcome: str, detail: dict[str, str]
) -> None:
    standin.script_outcomes(outcome)
    s = settings(standin)
    voice = TwilioVoiceChannel(s, TwilioSender(s, sleep=FakeSleep()))
    try:
        sent = await voice.send(CALL)
        sid = sent.provider_id or ""
        if detail:  # the stand-in's scripted end carries no AnsweredBy: send that one ourselves
            await asyncio.to_thread(_refused, standin, sid, outcome, detail)
        await settled(standin, sid, outcome)
        found = await voice.status(sid)
    finally:
        await voice.aclose()
    assert isinstance(found, ProviderStatus)
    assert (found.status, found.provider_id) == (outcome, sid)
    assert found.detail.get("AnsweredBy") == detail.get("AnsweredBy")
    assert found.at is not None  # when it ended
    [fetch] = [r for r in standin.requests if r.method == "GET"]
    assert fetch.path == f"/2010-04-01/Accounts/{standin.account_sid}/Calls/{sid}.json"
    assert fetch_problems("Calls", standin.resource(sid)) == []


def _refused(standin: TwilioStandIn, sid: str, status: str, extra: dict[str, str]) -> None:
    with contextlib.suppress(OSError):  # nobody listens: the status stays on the resource
        standin.send_status_callback(sid, status, extra, timeout_s=1)


async def test_a_call_still_ringing_says_so(standin: TwilioStandIn) -> None:
    s = settings(standin)
    voice = TwilioVoiceChannel(s, TwilioSender(s, sleep=FakeSleep()))
    try:
        sent = await voice.send(CALL)
        found = await voice.status(sent.provider_id or "")
    finally:
        await voice.aclose()
    assert found is not None and found.status == "queued" and found.detail == {}


async def test_an_undelivered_sms_is_fetched_with_its_error_code(standin: TwilioStandIn) -> None:
    s = settings(standin)
    sms = TwilioSmsChannel(s, TwilioSender(s, sleep=FakeSleep()))
    try:
        sent = await sms.send(SMS)
        sid = sent.provider_id or ""
        await asyncio.to_thread(_refused, standin, sid, "undelivered", {"ErrorCode": "30003"})
        found = await sms.status(sid)
    finally:
        await sms.aclose()
    assert found is not None and (found.status, found.detail) == ("undelivered",
                                                                  {"ErrorCode": "30003"})
    assert fetch_problems("Messages", standin.resource(sid)) == []


async def test_a_lookup_that_fails_says_nothing_and_does_not_raise(
    standin: TwilioStandIn,
) -> None:
    s = settings(standin)
    voice = TwilioVoiceChannel(s, TwilioSender(s, sleep=FakeSleep()))
    try:
        assert await voice.status("CA" + "0" * 32) is None  # 404: Twilio does not know it
        sent = await voice.send(CALL)
        standin.fail_next(1, status=500)
        assert await voice.status(sent.provider_id or "") is None
    finally:
        await voice.aclose()
