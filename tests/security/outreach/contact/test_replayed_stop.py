"""Opt-out order: a replayed or late old STOP after a newer START does not opt out again.

Signed webhooks through the real HTTP server (the `d` harness of the SMS-reply tests),
plus the store's ordering by the message's own time and Twilio's error 21610 on a send.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.simulate.twilio_standin import TwilioStandIn
from outreach.channels import OutboundMessage
from outreach.channels.twilio_client import TwilioSender, TwilioSettings
from outreach.channels.twilio_sms import TwilioSmsChannel
from outreach.store.db import make_engine, upgrade
from outreach.store.models import sms_opt_outs
from outreach.store.optouts import SmsOptOuts
from tests.outreach.contact.test_sms_replies import JOE, Desk, d  # noqa: F401
from tests.support.channel_fakes import FakeSleep


async def opted_out(d: Desk) -> bool:  # noqa: F811
    async with d.h.engine.connect() as conn:
        return bool((await conn.execute(sms_opt_outs.select())).all())


async def test_a_replayed_old_stop_after_start_changes_nothing(d: Desk) -> None:  # noqa: F811
    assert (await d.text_us(JOE, "STOP", "SM-old-stop")).status_code == 200
    assert await opted_out(d)
    await d.text_us(JOE, "START", "SM-start")
    assert not await opted_out(d)
    replay = await d.text_us(JOE, "STOP", "SM-old-stop")  # the same signed request again
    assert replay.status_code == 200
    assert not await opted_out(d)
    assert d.counted("opt_out", "duplicate") == 1


async def test_a_new_stop_after_start_still_opts_out(d: Desk) -> None:  # noqa: F811
    await d.text_us(JOE, "STOP", "SM-1")
    await d.text_us(JOE, "START", "SM-2")
    await d.text_us(JOE, "STOP", "SM-3")
    assert await opted_out(d)


async def test_consent_follows_the_messages_own_time(tmp_path: Path) -> None:
    engine = make_engine(str(tmp_path / "o.db"))
    await upgrade(engine)
    store = SmsOptOuts(engine, lambda: 5_000)
    try:
        assert await store.record(JOE, "start", "SM-start", sent_at=2_000) == "applied"
        assert await store.record(JOE, "stop", "SM-late-stop", sent_at=1_000) == "stale"
        assert await store.opted_out([JOE]) == set()
        assert await store.record(JOE, "stop", "SM-late-stop", sent_at=1_000) == "duplicate"
        assert await store.record(JOE, "stop", "SM-new", sent_at=3_000) == "applied"
        assert await store.opted_out([JOE]) == {JOE}
        assert await store.record(JOE, "start", "SM-old-start", sent_at=2_500) == "stale"
        assert await store.opted_out([JOE]) == {JOE}
    finally:
        await engine.dispose()


@pytest.fixture
def standin() -> Iterator[TwilioStandIn]:
    with TwilioStandIn() as server:
        yield server


async def test_error_21610_on_a_send_is_recorded_as_an_opt_out(
        standin: TwilioStandIn, tmp_path: Path) -> None:
    engine = make_engine(str(tmp_path / "o.db"))
    await upgrade(engine)
    opt_outs = SmsOptOuts(engine)
    s = TwilioSettings(standin.account_sid, standin.auth_token, "+14155550100",
                       api_base_url=standin.base_url)
    channel = TwilioSmsChannel(s, TwilioSender(s, sleep=FakeSleep()),
                               on_unsubscribed=opt_outs.opt_out)
    standin.fail_next(1, status=400, code=21610)
    try:
        result = await channel.send(OutboundMessage("case-1:1", "case-1", "stu-1", "sms",
                                                    "disconnect", to=JOE))
        assert not result.ok and result.reason == "http_400:21610"
        assert await opt_outs.opted_out([JOE]) == {JOE}
    finally:
        await channel.aclose()
        await engine.dispose()
