"""A 429's Retry-After is honoured within the retry budget (real twilio library, the stand-in)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from monitor.simulate.twilio_standin import TwilioStandIn
from outreach.channels import OutboundMessage, SendResult
from outreach.channels.retry import retry_after_s
from outreach.channels.twilio_client import TwilioSender, TwilioSettings
from outreach.channels.twilio_sms import TwilioSmsChannel
from tests.support.channel_fakes import FakeSleep

TO = "+8613812345678"
MESSAGE = OutboundMessage(message_id="case-1:1", case_id="case-1", student_id="stu-1",
                          channel="sms", fault="lag", to=TO, device="ipad")


@pytest.fixture
def standin() -> Iterator[TwilioStandIn]:
    with TwilioStandIn() as server:
        yield server


async def send(standin: TwilioStandIn, sleep: FakeSleep, **extra: object) -> SendResult:
    settings = TwilioSettings(standin.account_sid, standin.auth_token, "+14155550100",
                              api_base_url=standin.base_url, **extra)  # type: ignore[arg-type]
    channel = TwilioSmsChannel(settings, TwilioSender(settings, sleep=sleep, rng=lambda: 1.0))
    try:
        return await channel.send(MESSAGE)
    finally:
        await channel.aclose()


async def test_retry_after_is_waited_for_instead_of_the_backoff() -> None:
    sleep = FakeSleep()
    with TwilioStandIn() as standin:
        standin.fail_next(1, status=429, retry_after="7")
        result = await send(standin, sleep)
    assert (result.status, result.attempts) == ("queued", 2)
    assert sleep.waits == [7.0]


async def test_throttling_is_retried_past_four_tries_within_the_budget(
    standin: TwilioStandIn,
) -> None:
    sleep = FakeSleep()
    standin.fail_next(6, status=429, retry_after="3")
    result = await send(standin, sleep)
    assert (result.status, result.attempts) == ("queued", 7)
    # 3 s asked each time; the backoff (0.5, 1, 2, 4, 8 s ceilings) wins when longer
    assert sleep.waits == [3.0, 3.0, 3.0, 4.0, 8.0, 8.0]  # 29 s: within the 30 s budget
    assert [r.answered for r in standin.requests] == [429] * 6 + [201]


async def test_a_retry_after_past_the_budget_gives_up_at_once_retryable(
    standin: TwilioStandIn,
) -> None:
    sleep = FakeSleep()
    standin.fail_next(5, status=429, retry_after="120")
    result = await send(standin, sleep)
    assert (result.status, result.retryable, result.reason) == ("failed", True, "http_429")
    assert result.attempts == 1 and sleep.waits == []


async def test_the_budget_is_a_setting_and_bounds_the_total_wait(standin: TwilioStandIn) -> None:
    sleep = FakeSleep()
    standin.fail_next(20, status=429, retry_after="4")
    result = await send(standin, sleep, retry_budget_s=10.0)
    assert (result.status, result.reason) == ("failed", "http_429")
    assert sleep.waits == [4.0, 4.0] and result.attempts == 3


def test_retry_after_values() -> None:
    now = datetime(2026, 12, 6, 20, 0, tzinfo=UTC)
    assert retry_after_s("12", now) == 12.0
    assert retry_after_s("Sun, 06 Dec 2026 20:00:30 GMT", now) == 30.0
    assert retry_after_s("Sun, 06 Dec 2026 19:00:00 GMT", now) == 0.0  # past: at once
    for bad in (None, "", "soon", "-3", "1.5", "9" * 100):
        assert retry_after_s(bad, now) is None


def test_settings_repr_hides_the_auth_token() -> None:
    settings = TwilioSettings("AC" + "1" * 32, "very-secret-token", "+14155550100")
    assert "very-secret-token" not in repr(settings) and "AC" + "1" * 32 in repr(settings)
