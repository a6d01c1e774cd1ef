"""Calls from the console through Twilio (the local stand-in); Twilio's answers queue cases."""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from monitor.desk.app import create_app
from monitor.desk.phones import twilio_wiring
from monitor.simulate.twilio_standin import TwilioStandIn, post_signed
from outreach.channels.twilio_client import TwilioSettings
from outreach.decide.family import Guardian, Student
from outreach.store.directory import DirectoryStore
from tests.support.channel_fakes import serve_asgi
from tests.support.desk_scenario import Desk, scripted_desk


@dataclass
class Wired:
    desk: Desk
    standin: TwilioStandIn
    base: str
    http: httpx.AsyncClient
    headers: dict[str, str]

    async def lag_case(self) -> str:
        case = await self.desk.live.desk.store.by_incident(
            next(i for i in self.desk.live.desk.state.live if i.startswith("lag")))
        assert case is not None
        return case.case_id

    async def post_twilio(self, path: str, query: dict[str, str], params: dict[str, str],
                          signature: str | None = None) -> int:
        url = f"{self.base}{path}?{urllib.parse.urlencode(query)}"
        sig = signature if signature is not None else self.standin.signature(url, params)
        return await asyncio.to_thread(post_signed, url, params, sig)


@pytest.fixture
async def wired(tmp_path: Path) -> AsyncIterator[Wired]:
    async with scripted_desk(tmp_path) as desk:
        await DirectoryStore(desk.engine).save([Student("stu-1", "Kid", "en", "Europe/Oslo", (
            Guardian("Dad", "+4790000001", "father", "call", "en", "Europe/Oslo", None, True),
            Guardian("Grandma Aud", "+4790000002", "grandmother", "call", "en", "Europe/Oslo",
                     None, False)))])
        ann = await desk.users.add("ann", "agent")
        with TwilioStandIn() as standin:
            settings = TwilioSettings(standin.account_sid, standin.auth_token, "+4721000000",
                                      api_base_url=standin.base_url)
            voice, routes = twilio_wiring(desk.live.desk, desk.engine, settings, None)
            app = create_app(desk.live.desk, desk.users, extra_routes=routes)
            async with serve_asgi(app) as base, httpx.AsyncClient(base_url=base) as http:
                yield Wired(desk, standin, base, http, {"Authorization": f"Bearer {ann}"})
            await voice.aclose()


async def test_the_agent_calls_the_first_guardian_who_may_be_called(wired: Wired) -> None:
    await wired.desk.run_to(80)
    case_id = await wired.lag_case()
    await wired.http.post(f"/api/cases/{case_id}/claim", headers=wired.headers)
    r = await wired.http.post(f"/api/cases/{case_id}/call", headers=wired.headers)
    assert (r.status_code, r.json()["status"]) == (202, "queued")
    [call] = [q for q in wired.standin.requests if q.path.endswith("/Calls.json")]
    assert call.param("To") == "+4790000002"  # Dad asked not to be called
    assert "stutter" in (call.param("Twiml") or "")
    [placed] = [e for e in await wired.desk.live.desk.store.timeline(case_id)
                if e.kind == "call"]
    assert (placed.actor, placed.data["to"]) == ("ann", "+47****0002")  # masked


async def test_an_unanswered_call_puts_the_case_in_the_queue(wired: Wired) -> None:
    await wired.desk.run_to(40)  # the chat went out; not queued yet
    case_id = await wired.lag_case()
    assert await wired.desk.live.desk.queue.rows() == []
    query = {"case_id": case_id, "message_id": "m-1", "channel": "call"}
    params = {"CallSid": "CA" + "1" * 32, "CallStatus": "no-answer"}
    assert await wired.post_twilio("/twilio/status", query, params, "forged") == 403
    assert await wired.desk.live.desk.queue.rows() == []
    assert await wired.post_twilio("/twilio/status", query, params) == 204
    assert [r.reason for r in await wired.desk.live.desk.queue.rows()] == ["call_no_answer"]
    assert "call_fallback" in [e.kind for e in await wired.desk.live.desk.store.timeline(case_id)]


async def test_a_guardian_pressing_1_for_a_technician_is_queued(wired: Wired) -> None:
    await wired.desk.run_to(40)
    case_id = await wired.lag_case()
    query = {"case_id": case_id, "message_id": "m-2", "lang": "en"}
    assert await wired.post_twilio("/twilio/gather", query,
                                   {"CallSid": "CA" + "2" * 32, "Digits": "1"}) == 200
    assert [r.reason for r in await wired.desk.live.desk.queue.rows()] == [
        "asked_for_technician"]
