"""A restart while a call rings (issue #20, point 6): Twilio's no-answer callback is refused
because the service is down; the restarted runtime fetches the call from Twilio (the stand-in,
through the real `twilio` library) and sends the fallback SMS at once, not after the 120 s
wait for the call's status."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from detectors.records import case_id_for
from monitor.simulate.twilio_standin import TwilioStandIn
from outreach.channels.twilio_callbacks import create_app, timeline_sink
from outreach.contact.chain import Waits
from tests.support.casedb import sqlite_engine
from tests.support.channel_fakes import serve_asgi
from tests.support.live_support import (
    Harness,
    decision,
    harness,
    incident,
    make_runner,
    twilio,
    until,
)

WAITS = Waits(chat_s=120, call_s=120, sms_s=600)  # as in production


async def test_a_call_that_ended_while_the_service_was_down_is_looked_up_on_restart(
    tmp_path: Path,
) -> None:
    engine = await sqlite_engine(tmp_path)
    base = await harness(engine, tmp_path, WAITS)
    inc = incident(1)
    cid = case_id_for(inc.incident_id)
    with TwilioStandIn(auto_delay_s=0.5) as standin:
        standin.script_outcomes("no-answer", "delivered")
        app = create_app(standin.auth_token, timeline_sink(base.cases))
        async with serve_asgi(app) as url, twilio(standin, url) as channels:
            first = make_runner(engine, base.cases, base.directory, WAITS, channels=channels)
            await first.runner.handle(inc)
            await first.runner.handle(decision(inc, "call"))
            await until(lambda: _attempts(first, cid, 1))
            await first.runner.aclose()  # the service stops while the call rings
        [call] = [r for r in standin.requests if r.method == "POST"]
        [attempt] = [e for e in await base.cases.timeline(cid) if e.kind == "attempt"]
        sid = str(attempt.data["provider_id"])
        async with asyncio.timeout(5):  # the no-answer callback finds nobody listening
            while standin.resource(sid)["status"] != "no-answer":
                await asyncio.sleep(0.02)
        assert not any(e.kind == "call_fallback" for e in await base.cases.timeline(cid))
        async with twilio(standin, "http://127.0.0.1:9") as channels:  # callbacks: elsewhere
            again = make_runner(engine, base.cases, base.directory, WAITS, channels=channels)
            started = time.monotonic()
            assert await again.runner.resume() == [cid]
            await until(lambda: sum(r.method == "POST" for r in standin.requests) == 2)
            texted_after_s = time.monotonic() - started
            await until(lambda: _attempts(again, cid, 2))
            await again.runner.aclose()
    assert texted_after_s < 10  # not the 120 s call wait
    posts = [r.path.rsplit("/", 1)[1] for r in standin.requests if r.method == "POST"]
    gets = [r.path for r in standin.requests if r.method == "GET"]
    assert posts == ["Calls.json", "Messages.json"] and call.param("To") == "+8613812345678"
    assert gets == [f"/2010-04-01/Accounts/{standin.account_sid}/Calls/{sid}.json"]
    timeline = await base.cases.timeline(cid)
    [looked] = [e for e in timeline if e.kind == "call_fallback"]
    assert looked.data["via"] == "status_lookup" and looked.data["provider_id"] == sid
    assert [e.data["reason"] for e in timeline if e.kind == "fallback"] == ["call_no_answer"]
    assert [e.data["channel"] for e in timeline if e.kind == "attempt"] == ["call", "sms"]
    metric = "firstcall_outreach_status_lookups_total"
    assert again.counted(metric, channel="call", result="final") == 1
    await engine.dispose()


async def _attempts(h: Harness, case_id: str, n: int) -> bool:
    return sum(e.kind == "attempt" for e in await h.cases.timeline(case_id)) == n
