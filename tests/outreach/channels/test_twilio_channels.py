"""The real twilio library against the local stand-in: requests, retries, timeouts, breaker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import structlog

from monitor.simulate.twilio_standin import TwilioStandIn
from outreach.channels import OutboundMessage
from outreach.channels.circuit import CircuitBreaker
from outreach.channels.retry import RetryPolicy
from outreach.channels.twilio_client import TWILIO_API, TwilioSender, TwilioSettings, rebase
from outreach.channels.twilio_sms import TwilioSmsChannel
from outreach.channels.twilio_voice import TwilioVoiceChannel
from outreach.scripts.wording import sms_text
from tests.support.channel_fakes import FakeClock, FakeSleep

TO = "+8613812345678"


@pytest.fixture
def standin() -> Iterator[TwilioStandIn]:
    with TwilioStandIn() as server:
        yield server


def settings_for(standin: TwilioStandIn, **extra: object) -> TwilioSettings:
    values: dict[str, object] = {
        "account_sid": standin.account_sid,
        "auth_token": standin.auth_token,
        "from_number": "+14155550100",
        "api_base_url": standin.base_url,
        "status_callback_url": "https://firstcall.example/twilio/status",
        "gather_action_url": "https://firstcall.example/twilio/gather",
        "request_timeout_s": 0.25,
    } | extra
    return TwilioSettings(**values)  # type: ignore[arg-type]


def message(channel: str = "call", to: str | None = TO, **extra: object) -> OutboundMessage:
    values: dict[str, object] = {
        "message_id": "case-1:1",
        "case_id": "case-1",
        "student_id": "stu-1",
        "channel": channel,
        "fault": "lag",
        "to": to,
        "device": "ipad",
    } | extra
    return OutboundMessage(**values)  # type: ignore[arg-type]


@pytest.fixture
async def sleep() -> AsyncIterator[FakeSleep]:
    yield FakeSleep()


def sender(settings: TwilioSettings, sleep: FakeSleep, **extra: object) -> TwilioSender:
    return TwilioSender(settings, sleep=sleep, rng=lambda: 1.0, **extra)  # type: ignore[arg-type]


async def test_call_is_placed_with_twiml_and_callbacks(
    standin: TwilioStandIn, sleep: FakeSleep
) -> None:
    settings = settings_for(standin)
    channel = TwilioVoiceChannel(settings, sender(settings, sleep))
    try:
        result = await channel.send(message())
    finally:
        await channel.aclose()
    assert result.status == "queued" and result.provider_id and result.provider_id.startswith("CA")
    [req] = standin.requests
    assert req.method == "POST"
    assert req.path == f"/2010-04-01/Accounts/{standin.account_sid}/Calls.json"
    assert req.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert req.param("To") == TO and req.param("From") == "+14155550100"
    twiml = req.param("Twiml") or ""
    assert '<Gather action="https://firstcall.example/twilio/gather?case_id=case-1' in twiml
    assert 'numDigits="1"' in twiml and 'language="cmn-CN"' in twiml and "卡顿" in twiml
    assert req.params["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert (req.param("StatusCallback") or "").startswith(
        "https://firstcall.example/twilio/status?case_id=case-1&message_id=case-1%3A1"
        "&channel=call&lang=zh-CN&idem="
    )
    assert standin.resource(result.provider_id)["status"] == "queued"
    assert req.param("MachineDetection") == "DetectMessageEnd" and req.param("Timeout") == "30"
    assert sleep.waits == []


async def test_sms_is_sent_in_the_guardians_language(
    standin: TwilioStandIn, sleep: FakeSleep
) -> None:
    settings = settings_for(standin)
    channel = TwilioSmsChannel(settings, sender(settings, sleep))
    try:
        result = await channel.send(message("sms", language="en", fault="disconnect"))
    finally:
        await channel.aclose()
    assert result.status == "queued" and (result.provider_id or "").startswith("SM")
    [req] = standin.requests
    assert req.path.endswith("/Messages.json")
    body = req.param("Body") or ""
    assert body == sms_text("disconnect", "ipad", "en")  # the SMS wording: answer with a digit
    assert "drop out of the class" in body and "Reply 1" in body and "Reply STOP" in body
    assert "channel=sms" in (req.param("StatusCallback") or "")


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_429_and_5xx_are_retried_with_backoff(
    standin: TwilioStandIn, sleep: FakeSleep, status: int
) -> None:
    standin.fail_next(2, status=status)
    settings = settings_for(standin)
    channel = TwilioSmsChannel(settings, sender(settings, sleep))
    try:
        result = await channel.send(message("sms"))
    finally:
        await channel.aclose()
    assert result.status == "queued" and result.attempts == 3
    assert [r.answered for r in standin.requests] == [status, status, 201]
    assert sleep.waits == [0.5, 1.0]  # base 0.5 s doubling, jitter pinned to its ceiling


async def test_retries_give_up_and_say_retryable(standin: TwilioStandIn, sleep: FakeSleep) -> None:
    standin.fail_next(10, status=500)
    settings = settings_for(standin)
    policy = RetryPolicy(max_attempts=4, base_s=1.0, cap_s=3.0)
    # SMS: a call looks itself up after a 5xx (tests/outreach/channels/test_twilio_call_idem.py)
    channel = TwilioSmsChannel(settings, sender(settings, sleep, policy=policy))
    try:
        result = await channel.send(message("sms"))
    finally:
        await channel.aclose()
    assert result.status == "failed" and result.retryable and result.reason == "http_500"
    assert len(standin.requests) == 4 and sleep.waits == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("to", [TO, "+86-bad"])
async def test_other_4xx_are_not_retried(standin: TwilioStandIn, sleep: FakeSleep, to: str) -> None:
    if to == TO:
        standin.fail_next(1, status=400)
    settings = settings_for(standin)
    channel = TwilioVoiceChannel(settings, sender(settings, sleep))
    try:
        result = await channel.send(message(to=to))
    finally:
        await channel.aclose()
    assert result.status == "failed" and not result.retryable
    assert result.reason.startswith("http_400")
    assert len(standin.requests) == 1 and sleep.waits == []


async def test_bad_credentials_are_not_retried(standin: TwilioStandIn, sleep: FakeSleep) -> None:
    settings = settings_for(standin, auth_token="wrong")
    channel = TwilioSmsChannel(settings, sender(settings, sleep))
    try:
        result = await channel.send(message("sms"))
    finally:
        await channel.aclose()
    assert result.reason == "http_401:20003" and not result.retryable


async def test_sms_timeout_is_retried(standin: TwilioStandIn, sleep: FakeSleep) -> None:
    standin.stall_next(1, delay_s=0.6)
    settings = settings_for(standin, request_timeout_s=0.15)
    channel = TwilioSmsChannel(settings, sender(settings, sleep))
    try:
        result = await channel.send(message("sms"))
    finally:
        await channel.aclose()
    assert result.status == "queued" and result.attempts == 2
    assert len(standin.requests) == 2 and len(sleep.waits) == 1


async def test_call_timeout_is_not_blindly_retried(
    standin: TwilioStandIn, sleep: FakeSleep
) -> None:
    standin.stall_next(1, delay_s=0.6)
    settings = settings_for(standin, request_timeout_s=0.15)
    channel = TwilioVoiceChannel(settings, sender(settings, sleep, retry_unknown=False))
    try:
        result = await channel.send(message())
    finally:
        await channel.aclose()
    assert result.status == "failed" and result.reason == "timeout" and not result.retryable
    assert len(standin.requests) == 1 and sleep.waits == []


async def test_connection_refused_is_retried(sleep: FakeSleep) -> None:
    with TwilioStandIn() as gone:
        base = gone.base_url
    settings = TwilioSettings("AC" + "1" * 32, "t", "+14155550100", api_base_url=base)
    channel = TwilioSmsChannel(
        settings, sender(settings, sleep, policy=RetryPolicy(max_attempts=2))
    )
    try:
        result = await channel.send(message("sms"))
    finally:
        await channel.aclose()
    assert result.status == "failed" and result.retryable and result.reason == "connect_error"
    assert result.attempts == 2


async def test_circuit_breaker_stops_hammering(standin: TwilioStandIn, sleep: FakeSleep) -> None:
    standin.fail_next(3, status=503)
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=3, reset_after_s=30, clock=clock)
    settings = settings_for(standin)
    channel = TwilioSmsChannel(
        settings, sender(settings, sleep, breaker=breaker, policy=RetryPolicy(max_attempts=5))
    )
    try:
        first = await channel.send(message("sms"))
        assert first.reason == "circuit_open" and first.retryable and first.attempts == 3
        second = await channel.send(message("sms"))
        assert second.reason == "circuit_open" and second.attempts == 0
        assert len(standin.requests) == 3
        clock.advance(30)
        third = await channel.send(message("sms"))
        assert third.status == "queued" and breaker.state == "closed"
    finally:
        await channel.aclose()
    assert len(standin.requests) == 4


async def test_edge_and_region_still_reach_the_configured_base(
    standin: TwilioStandIn, sleep: FakeSleep
) -> None:
    settings = settings_for(standin, edge="singapore", region="sg1")
    channel = TwilioSmsChannel(settings, sender(settings, sleep))
    try:
        assert (await channel.send(message("sms"))).status == "queued"
    finally:
        await channel.aclose()
    assert len(standin.requests) == 1


def test_rebase() -> None:
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Calls.json?x=1"
    assert rebase(url, TWILIO_API) == url
    assert (
        rebase(url, "http://127.0.0.1:9/")
        == "http://127.0.0.1:9/2010-04-01/Accounts/AC1/Calls.json?x=1"
    )
    edge = "https://api.sydney.au1.twilio.com/2010-04-01/Accounts/AC1/Calls.json"
    assert rebase(edge, "http://h:1") == "http://h:1/2010-04-01/Accounts/AC1/Calls.json"
    assert (
        rebase("https://lookups.twilio.com/v2/x", "http://h:1") == "https://lookups.twilio.com/v2/x"
    )


async def test_missing_phone_fails_without_a_request(
    standin: TwilioStandIn, sleep: FakeSleep
) -> None:
    settings = settings_for(standin)
    channel = TwilioVoiceChannel(settings, sender(settings, sleep))
    result = await channel.send(message(to=None))
    assert result.reason == "no_phone_number" and standin.requests == []


async def test_phone_numbers_never_reach_the_logs(standin: TwilioStandIn, sleep: FakeSleep) -> None:
    standin.fail_next(1, status=500)
    standin.fail_next(1, status=400)
    settings = settings_for(standin)
    voice = TwilioVoiceChannel(settings, sender(settings, sleep))
    sms = TwilioSmsChannel(settings, sender(settings, sleep))
    with structlog.testing.capture_logs() as logs:
        try:
            await voice.send(message())
            await sms.send(message("sms"))
        finally:
            await voice.aclose()
            await sms.aclose()
    assert logs and TO not in repr(logs)
    assert all(entry.get("case_id") == "case-1" for entry in logs)
    assert {entry["to"] for entry in logs} == {"+86*******5678"}
