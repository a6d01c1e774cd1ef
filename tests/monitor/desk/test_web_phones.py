"""Calls through Twilio (the local stand-in) on the desk's server: the runtime's voice channel
for the chain and the agent alike, and production's callback app, whose answers move the
case runtime's contact chain."""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from monitor.desk.app import create_app
from monitor.simulate.twilio_standin import RecordedRequest, TwilioStandIn, post_signed
from monitor.streaming.outreach_service import callback_app
from outreach.channels.twilio_client import TwilioSender, TwilioSettings
from outreach.channels.twilio_voice import TwilioVoiceChannel
from outreach.contact.chain import Waits
from outreach.decide.family import Guardian, Student
from outreach.store.directory import DirectoryStore
from tests.support.channel_fakes import FakeSleep, serve_asgi
from tests.support.desk_scenario import Desk, scripted_desk
from tests.support.live_support import until

WAITS = Waits(chat_s=0.02, call_s=10, sms_s=0.02)  # a call waits for Twilio's answer


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

    def calls(self) -> list[RecordedRequest]:
        return [q for q in self.standin.requests if q.path.endswith("/Calls.json")]

    async def timeline(self, case_id: str) -> list[tuple[str, str, dict[str, object]]]:
        events = await self.desk.live.desk.store.timeline(case_id)
        return [(e.kind, e.actor, e.data) for e in events]

    async def chains_call(self) -> tuple[str, str]:
        """Play until the runtime's chain rang stu-1's family; (case id, its message id)."""
        await self.desk.run_to(34, settle=False)  # the chat goes out; nobody answers it
        await until(lambda: len(self.calls()) == 1)
        callback = self.calls()[0].param("StatusCallback") or ""
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(callback).query)
        return query["case_id"][0], query["message_id"][0]

    async def post_twilio(self, path: str, query: dict[str, str], params: dict[str, str],
                          signature: str | None = None) -> int:
        url = f"{self.base}{path}?{urllib.parse.urlencode(query)}"
        sig = signature if signature is not None else self.standin.signature(url, params)
        return await asyncio.to_thread(post_signed, url, params, sig)


@pytest.fixture
async def wired(tmp_path: Path) -> AsyncIterator[Wired]:
    with TwilioStandIn(auto_delay_s=0.05) as standin:
        async with scripted_desk(tmp_path, waits=WAITS) as desk:
            await DirectoryStore(desk.engine).save([Student("stu-1", "Kid", "en", "Europe/Oslo", (
                Guardian("Dad", None, "father", "chat", "en", "Europe/Oslo", None, False),
                Guardian("Grandma Aud", "+4790000002", "grandmother", "call", "en",
                         "Europe/Oslo", None, False)))])
            ann = await desk.users.add("ann", "agent")
            twilio = callback_app(desk.live.runtime, standin.auth_token)
            app = create_app(desk.live.desk, desk.users, extra_routes=twilio.routes)
            async with serve_asgi(app) as base, httpx.AsyncClient(base_url=base) as http:
                settings = TwilioSettings(
                    standin.account_sid, standin.auth_token, "+4721000000",
                    api_base_url=standin.base_url, status_callback_url=f"{base}/twilio/status",
                    gather_action_url=f"{base}/twilio/gather")
                voice = TwilioVoiceChannel(settings, TwilioSender(settings, sleep=FakeSleep()))
                desk.live.channels["call"] = voice
                yield Wired(desk, standin, base, http, {"Authorization": f"Bearer {ann}"})
                await desk.live.runtime.aclose()
                await voice.aclose()


async def test_the_agent_calls_the_guardian_the_chain_calls(wired: Wired) -> None:
    wired.standin.script_outcomes("no-answer")  # the chain's call: Twilio reports no answer
    await wired.desk.run_to(80)
    case_id = await wired.lag_case()
    assert [r.reason for r in await wired.desk.live.desk.queue.rows()] == ["sms_unanswered"]
    await wired.http.post(f"/api/cases/{case_id}/claim", headers=wired.headers)
    r = await wired.http.post(f"/api/cases/{case_id}/call", headers=wired.headers)
    assert (r.status_code, r.json()["status"]) == (202, "queued")
    chains, agents = wired.calls()
    assert chains.param("To") == agents.param("To") == "+4790000002"  # Dad has no phone
    assert "stutter" in (agents.param("Twiml") or "")
    timeline = await wired.timeline(case_id)
    [placed] = [(actor, d["to"]) for kind, actor, d in timeline if kind == "call"]
    assert placed == ("ann", "+47****0002")  # masked
    [attempt] = [d for kind, _, d in timeline if kind == "attempt" and d.get("by") == "ann"]
    assert (attempt["channel"], attempt["status"]) == ("call", "queued")


async def test_twilios_no_answer_moves_the_chain_on_and_a_forged_one_is_refused(
        wired: Wired) -> None:
    case_id, message_id = await wired.chains_call()
    query = {"case_id": case_id, "message_id": message_id, "channel": "call"}
    params = {"CallSid": "CA" + "1" * 32, "CallStatus": "no-answer"}
    assert await wired.post_twilio("/twilio/status", query, params, "forged") == 403
    assert "call_fallback" not in [k for k, _, _ in await wired.timeline(case_id)]
    sent = await asyncio.to_thread(  # signed by the stand-in, as Twilio does
        wired.standin.send_status_callback, await call_sid(wired), "no-answer")
    assert sent == 204
    await wired.desk.live.runtime.drain()
    assert [r.reason for r in await wired.desk.live.desk.queue.rows()] == ["sms_unanswered"]
    timeline = await wired.timeline(case_id)
    assert ("call_fallback", "twilio") in [(k, a) for k, a, _ in timeline]
    steps = [(d["channel"], d["step"], d["reason"]) for k, _, d in timeline if k == "fallback"]
    assert steps == [("chat", "call", "chat_unanswered"), ("call", "sms", "call_no_answer"),
                     ("sms", "agent_queue", "sms_unanswered")]


async def test_a_guardian_pressing_1_for_a_technician_is_queued(wired: Wired) -> None:
    case_id, message_id = await wired.chains_call()
    query = {"case_id": case_id, "message_id": message_id, "lang": "en"}
    assert await wired.post_twilio("/twilio/gather", query,
                                   {"CallSid": await call_sid(wired), "Digits": "1"}) == 200
    await wired.desk.live.runtime.drain()
    assert [r.reason for r in await wired.desk.live.desk.queue.rows()] == [
        "family_asked_for_help"]
    timeline = await wired.timeline(case_id)
    assert ("menu_choice", "twilio") in [(k, a) for k, a, _ in timeline]
    steps = [(d["channel"], d["step"], d["reason"]) for k, _, d in timeline if k == "fallback"]
    assert steps[-1] == ("call", "agent_queue", "family_asked_for_help")


async def call_sid(wired: Wired) -> str:
    """The SID the stand-in gave the chain's call (from the attempt on the case)."""
    case_id = await wired.lag_case()
    sids: list[str] = []

    async def recorded() -> bool:
        # The stand-in has the request before the chain writes the attempt down.
        sids[:] = [str(d["provider_id"]) for k, _, d in await wired.timeline(case_id)
                   if k == "attempt" and d.get("channel") == "call"]
        return bool(sids)

    await until(recorded)
    [sid] = sids
    return sid
