"""After a 5xx on a call create, the call is looked up before any retry: one family, one call."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator

import pytest

from monitor.simulate.twilio_standin import TwilioStandIn
from outreach.channels import OutboundMessage, SendResult
from outreach.channels.twilio_client import TwilioSender, TwilioSettings
from outreach.channels.twilio_voice import TwilioVoiceChannel
from tests.support.channel_fakes import FakeSleep
from tests.support.twilio_spec import list_parameters, shape_problems

TO = "+8613812345678"
FROM = "+14155550100"
MESSAGE = OutboundMessage(message_id="case-1:1", case_id="case-1", student_id="stu-1",
                          channel="call", fault="disconnect", to=TO, device="ipad")


@pytest.fixture
def standin() -> Iterator[TwilioStandIn]:
    with TwilioStandIn() as server:
        yield server


async def call(standin: TwilioStandIn, message: OutboundMessage = MESSAGE) -> SendResult:
    settings = TwilioSettings(standin.account_sid, standin.auth_token, FROM,
                              api_base_url=standin.base_url,
                              status_callback_url="https://firstcall.example/twilio/status")
    channel = TwilioVoiceChannel(settings, TwilioSender(settings, sleep=FakeSleep(),
                                                        rng=lambda: 1.0))
    try:
        return await channel.send(message)
    finally:
        await channel.aclose()


def posts(standin: TwilioStandIn) -> list[int | None]:
    return [r.answered for r in standin.requests if r.method == "POST"]


def lookups(standin: TwilioStandIn) -> list[dict[str, list[str]]]:
    return [urllib.parse.parse_qs(urllib.parse.urlsplit(r.path).query)
            for r in standin.requests if r.method == "GET"]


async def test_a_call_made_despite_a_500_is_found_and_not_made_again(
    standin: TwilioStandIn,
) -> None:
    standin.fail_next(1, status=500, create_anyway=True)
    result = await call(standin)
    assert posts(standin) == [500]  # no second create
    [query] = lookups(standin)
    assert set(query) <= list_parameters() and query["To"] == [TO] and query["From"] == [FROM]
    assert result.status == "queued" and (result.provider_id or "").startswith("CA")
    assert standin.resource(result.provider_id or "")["to"] == TO


async def test_a_500_that_made_nothing_is_retried_once_the_lookup_finds_nothing(
    standin: TwilioStandIn,
) -> None:
    standin.fail_next(1, status=503)
    result = await call(standin)
    assert posts(standin) == [503, 201] and len(lookups(standin)) == 1
    assert result.status == "queued" and result.attempts == 2
    for create in (r for r in standin.requests if r.method == "POST"):
        assert shape_problems("Calls", create.params) == []


async def test_when_the_lookup_fails_the_outcome_is_unknown_and_no_second_call(
    standin: TwilioStandIn,
) -> None:
    standin.fail_next(1, status=500, create_anyway=True)
    standin.fail_next(1, status=500)  # the lookup
    result = await call(standin)
    assert posts(standin) == [500]
    assert (result.status, result.retryable, result.reason) == ("failed", False, "outcome_unknown")


async def test_each_send_marks_its_status_callback_with_its_own_idem(
    standin: TwilioStandIn,
) -> None:
    await call(standin)
    await call(standin)
    marks = [urllib.parse.parse_qs(urllib.parse.urlsplit(r.param("StatusCallback") or "").query)
             ["idem"][0] for r in standin.requests if r.method == "POST"]
    assert len(marks) == 2 and marks[0] != marks[1] and all(len(m) == 16 for m in marks)


async def test_an_earlier_call_to_another_number_is_not_taken_for_ours(
    standin: TwilioStandIn,
) -> None:
    other = OutboundMessage(message_id="case-2:1", case_id="case-2", student_id="stu-2",
                            channel="call", fault="lag", to="+8613900000000", device="pc")
    await call(standin, other)
    standin.fail_next(1, status=500)
    result = await call(standin)
    assert posts(standin) == [201, 500, 201] and result.status == "queued"
