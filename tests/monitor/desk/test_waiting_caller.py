"""Press 1 for a technician now: the wait is announced and bounded, runs out into a promised
call back on the case, and the agent who claims the case is put through (Calls update, real
twilio library against the stand-in, request shapes from Twilio's OpenAPI description)."""

from __future__ import annotations

import asyncio
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.desk.app import create_app
from monitor.simulate.twilio_standin import RecordedRequest, TwilioStandIn
from monitor.streaming.outreach_service import callback_app
from outreach.channels.twilio_client import TwilioSender, TwilioSettings
from outreach.channels.twilio_connect import TwilioCallConnector
from outreach.channels.twilio_queue import QueueWait
from outreach.channels.twilio_voice import TwilioVoiceChannel
from outreach.contact.chain import Waits
from outreach.contact.waiting_caller import WaitingCallers
from outreach.decide.family import Guardian, Student
from outreach.store.directory import DirectoryStore
from tests.support.channel_fakes import BrokenConnector, FakeSleep, serve_asgi
from tests.support.desk_scenario import Desk, scripted_desk
from tests.support.live_support import until
from tests.support.twilio_spec import shape_problems

WAITS = Waits(chat_s=0.02, call_s=10, sms_s=0.02)
ANN_PHONE = "+4790000099"


@dataclass
class Phones:
    desk: Desk
    standin: TwilioStandIn
    base: str
    http: httpx.AsyncClient
    tokens: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def updates(self) -> list[RecordedRequest]:
        return [q for q in self.standin.requests
                if q.method == "POST" and "/Calls/CA" in q.path]

    async def timeline(self, case_id: str) -> list[tuple[str, str, dict[str, Any]]]:
        return [(e.kind, e.actor, e.data)
                for e in await self.desk.live.desk.store.timeline(case_id)]

    async def post(self, path: str, query: dict[str, str], params: dict[str, str]
                   ) -> tuple[int, ET.Element | None]:
        url = f"{self.base}{path}?{urllib.parse.urlencode(query)}"
        signature = self.standin.signature(url, params)
        reply: list[bytes] = []

        def send() -> int:
            import urllib.request
            request = urllib.request.Request(
                url, data=urllib.parse.urlencode(params).encode(), method="POST",
                headers={"X-Twilio-Signature": signature,
                         "Content-Type": "application/x-www-form-urlencoded"})
            with urllib.request.urlopen(request, timeout=5) as response:
                reply.append(response.read())
                return int(response.status)

        status = await asyncio.to_thread(send)
        body = reply[0] if reply else b""
        return status, (ET.fromstring(body) if body.strip() else None)

    async def caller_presses_1(self) -> tuple[str, str, ET.Element]:
        """The chain rings the guardian, who presses 1: (case id, CallSid, the TwiML)."""
        await self.desk.run_to(34, settle=False)
        await until(lambda: bool([q for q in self.standin.requests
                                  if q.path.endswith("/Calls.json")]))
        calls = [q for q in self.standin.requests if q.path.endswith("/Calls.json")]
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(
            calls[0].param("StatusCallback") or "").query)
        case_id, message_id = query["case_id"][0], query["message_id"][0]
        sids: list[str] = []

        async def recorded() -> bool:
            sids[:] = [str(d["provider_id"]) for k, _, d in await self.timeline(case_id)
                       if k == "attempt" and d.get("channel") == "call"]
            return bool(sids)

        await until(recorded)
        status, twiml = await self.post("/twilio/gather", {
            "case_id": case_id, "message_id": message_id, "lang": "en"},
            {"CallSid": sids[0], "Digits": "1"})
        assert status == 200 and twiml is not None
        await self.desk.live.runtime.drain()
        return case_id, sids[0], twiml


@pytest.fixture
async def phones(tmp_path: Path) -> AsyncIterator[Phones]:
    with TwilioStandIn(auto_delay_s=0.05) as standin:
        async with scripted_desk(tmp_path, waits=WAITS) as desk:
            await DirectoryStore(desk.engine).save([Student("stu-1", "Kid", "en", "Europe/Oslo", (
                Guardian("Grandma Aud", "+4790000002", "grandmother", "call", "en",
                         "Europe/Oslo", None, False),))])
            tokens = {name: await desk.users.add(name, "agent") for name in ("ann", "bob")}
            twilio = callback_app(desk.live.runtime, standin.auth_token,
                                  wait=QueueWait(max_wait_s=120, call_back_within_min=15))
            app = create_app(desk.live.desk, desk.users, extra_routes=twilio.routes)
            async with serve_asgi(app) as base, httpx.AsyncClient(base_url=base) as http:
                settings = TwilioSettings(
                    standin.account_sid, standin.auth_token, "+4721000000",
                    api_base_url=standin.base_url, status_callback_url=f"{base}/twilio/status",
                    gather_action_url=f"{base}/twilio/gather",
                    queue_action_url=f"{base}/twilio/queue-done")
                voice = TwilioVoiceChannel(settings, TwilioSender(settings, sleep=FakeSleep()))
                connector = TwilioCallConnector(settings, TwilioSender(settings,
                                                                       sleep=FakeSleep()))
                desk.live.channels["call"] = voice
                desk.live.desk.waiting = WaitingCallers(
                    desk.live.desk.store, DirectoryStore(desk.engine), connector,
                    {"ann": ANN_PHONE})
                yield Phones(desk, standin, base, http, tokens)
                await desk.live.runtime.aclose()
                await voice.aclose()
                await connector.aclose()


async def test_key_1_enqueues_with_an_announced_and_bounded_wait(phones: Phones) -> None:
    case_id, sid, twiml = await phones.caller_presses_1()
    enqueue = twiml.find("Enqueue")
    assert enqueue is not None and enqueue.text == "firstcall-technicians"
    wait_url, action_url = enqueue.get("waitUrl") or "", enqueue.get("action") or ""
    assert wait_url.startswith(f"{phones.base}/twilio/queue-wait?case_id={case_id}")
    assert action_url.startswith(f"{phones.base}/twilio/queue-done?case_id={case_id}")
    assert enqueue.get("waitUrlMethod") == "POST" and enqueue.get("method") == "POST"
    # Twilio asks the wait URL while the caller waits: the wait and the promise are said
    path, query = wait_url.split("?")[0][len(phones.base):], dict(
        urllib.parse.parse_qsl(urllib.parse.urlsplit(wait_url).query))
    _, said = await phones.post(path, query, {"CallSid": sid, "QueuePosition": "2",
                                              "QueueTime": "30"})
    assert said is not None
    assert said.findtext("Say") == ("There is 1 caller ahead of you. If no technician is free "
                                    "within 2 minutes, we will call you back within 15 minutes.")
    assert said.find("Pause") is not None and said.find("Leave") is None
    _, late = await phones.post(path, query, {"CallSid": sid, "QueuePosition": "1",
                                              "QueueTime": "120"})
    assert late is not None and late.find("Leave") is not None  # the longest wait is over


async def test_the_longest_wait_turns_into_a_call_back_on_the_timeline(phones: Phones) -> None:
    case_id, sid, twiml = await phones.caller_presses_1()
    enqueue = twiml.find("Enqueue")
    action = (enqueue.get("action") or "") if enqueue is not None else ""
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(action).query))
    _, said = await phones.post("/twilio/queue-done", query,
                                {"CallSid": sid, "QueueResult": "leave", "QueueTime": "121"})
    assert said is not None and "call you back within 15 minutes" in (said.findtext("Say") or "")
    assert said.find("Hangup") is not None
    [(actor, data)] = [(a, d) for k, a, d in await phones.timeline(case_id)
                       if k == "callback_scheduled"]
    assert actor == "twilio" and data["provider_id"] == sid and data["within_min"] == 15
    assert data["reason"] == "leave" and data["waited_s"] == 121 and data["due_ms"] > 0
    # the case is still in the queue (a technician calls back); a claim puts nobody through
    r = await phones.http.post(f"/api/cases/{case_id}/claim", headers=phones.headers("ann"))
    assert r.status_code == 200 and phones.updates() == []
    assert phones.desk.live.desk.metrics.waiting_callers.labels(
        "no_waiting_caller")._value.get() == 1


async def test_the_agent_who_claims_is_put_through_to_the_waiting_caller(phones: Phones) -> None:
    case_id, sid, _ = await phones.caller_presses_1()
    assert [r.case_id for r in await phones.desk.live.desk.queue.rows()] == [case_id]
    r = await phones.http.post(f"/api/cases/{case_id}/claim", headers=phones.headers("ann"))
    assert r.status_code == 200
    [update] = phones.updates()
    assert update.path.endswith(f"/Calls/{sid}.json")
    assert shape_problems("Call", update.params) == []
    dial = ET.fromstring(update.param("Twiml") or "").find("Dial")
    assert dial is not None and dial.findtext("Number") == ANN_PHONE
    assert dial.get("callerId") == "+4721000000"
    assert (dial.get("action") or "").startswith(f"{phones.base}/twilio/queue-done?case_id=")
    [(actor, data)] = [(a, d) for k, a, d in await phones.timeline(case_id)
                       if k == "caller_connected"]
    assert (actor, data["provider_id"], data["to"]) == ("ann", sid, "+47****0099")
    # put through once: a release and a new claim do not ring the agent again
    await phones.http.post(f"/api/cases/{case_id}/release", headers=phones.headers("ann"))
    await phones.http.post(f"/api/cases/{case_id}/claim", headers=phones.headers("ann"))
    assert len(phones.updates()) == 1


async def test_an_agent_phone_that_does_not_answer_turns_into_a_call_back(
    phones: Phones,
) -> None:
    case_id, sid, _ = await phones.caller_presses_1()
    await phones.http.post(f"/api/cases/{case_id}/claim", headers=phones.headers("ann"))
    dial = ET.fromstring(phones.updates()[0].param("Twiml") or "").find("Dial")
    action = (dial.get("action") or "") if dial is not None else ""
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(action).query))
    _, said = await phones.post("/twilio/queue-done", query,
                                {"CallSid": sid, "DialCallStatus": "no-answer"})
    assert said is not None and "within 15 minutes" in (said.findtext("Say") or "")
    reasons = [d["reason"] for k, _, d in await phones.timeline(case_id)
               if k == "callback_scheduled"]
    assert reasons == ["agent_no-answer"]
    _, done = await phones.post("/twilio/queue-done", query,
                                {"CallSid": sid, "DialCallStatus": "completed"})
    assert done is not None and done.find("Say") is None  # a finished talk just ends


async def test_an_agent_without_a_phone_or_a_finished_call_is_named(phones: Phones) -> None:
    case_id, sid, _ = await phones.caller_presses_1()
    await phones.http.post(f"/api/cases/{case_id}/claim", headers=phones.headers("bob"))
    assert phones.updates() == []
    [data] = [d for k, _, d in await phones.timeline(case_id) if k == "caller_not_connected"]
    assert (data["reason"], data["agent"]) == ("no_agent_phone", "bob")
    # the caller hangs up meanwhile (Twilio: completed), then ann claims
    await asyncio.to_thread(phones.standin.send_status_callback, sid, "completed")
    await phones.http.post(f"/api/cases/{case_id}/release", headers=phones.headers("bob"))
    await phones.http.post(f"/api/cases/{case_id}/claim", headers=phones.headers("ann"))
    assert phones.updates() == []  # the timeline already says the call ended
    metrics = phones.desk.live.desk.metrics.waiting_callers
    assert metrics.labels("no_agent_phone")._value.get() == 1
    assert metrics.labels("no_waiting_caller")._value.get() == 1


async def test_twilio_refusing_the_update_is_named_call_ended(phones: Phones) -> None:
    case_id, _sid, _ = await phones.caller_presses_1()
    phones.standin.fail_next(1, status=400, code=21220)
    await phones.http.post(f"/api/cases/{case_id}/claim", headers=phones.headers("ann"))
    [data] = [d for k, _, d in await phones.timeline(case_id) if k == "caller_not_connected"]
    assert data["reason"] == "call_ended" and data["detail"] == "http_400:21220"
    assert [u.answered for u in phones.updates()] == [400]


async def test_a_broken_connector_never_fails_the_claim(phones: Phones) -> None:
    case_id, _sid, _ = await phones.caller_presses_1()
    waiting = phones.desk.live.desk.waiting
    assert waiting is not None
    waiting.connector = broken = BrokenConnector()
    r = await phones.http.post(f"/api/cases/{case_id}/claim", headers=phones.headers("ann"))
    assert (r.status_code, r.json()["owner"]) == (200, "ann") and broken.tries == 1
    metrics = phones.desk.live.desk.metrics.waiting_callers
    assert metrics.labels("connect_failed")._value.get() == 1
