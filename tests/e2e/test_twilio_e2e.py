# ruff: noqa: RUF001
"""The building blocks together: case, directory, a real Twilio call to the stand-in that
goes unanswered, the SMS fallback, the family's chat reply, and the closing outcome."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from websockets.asyncio.client import connect

from detectors.records import Incident, Outreach
from monitor.simulate.twilio_standin import TwilioStandIn
from outreach.channels.chat import ChatChannel
from outreach.channels.chat_gateway import ChatGateway
from outreach.channels.chat_tokens import make_token
from outreach.channels.twilio_callbacks import create_app, timeline_sink
from outreach.channels.twilio_client import TwilioSender, TwilioSettings
from outreach.channels.twilio_sms import TwilioSmsChannel
from outreach.channels.twilio_voice import TwilioVoiceChannel
from outreach.contact.chat_routing import case_router
from outreach.contact.dispatch import Dispatcher
from outreach.decide.case_states import Refusal
from outreach.decide.signals import CallbackEvent, MenuChoice
from outreach.store.cases import CaseStore
from outreach.store.db import make_engine, upgrade
from outreach.store.directory import DirectoryStore
from outreach.store.directory_import import import_file
from outreach.store.outbox import Outbox
from tests.support.channel_fakes import FakeSleep, serve_asgi

CSV = (
    "student_id,student_name,guardian_name,phone,relation,preferred_channel,language\n"
    "stu-1,小明,王奶奶,+8613812345678,grandmother,call,zh-CN\n"
)


async def test_unanswered_call_falls_back_and_the_chat_reply_closes_the_case(
    tmp_path: Path,
) -> None:
    engine = make_engine(str(tmp_path / "e2e.db"))
    await upgrade(engine)
    cases, directory = CaseStore(engine), DirectoryStore(engine)
    (tmp_path / "families.csv").write_text(CSV, encoding="utf-8")
    assert (await import_file(tmp_path / "families.csv", directory)).imported
    incident = Incident(
        "disconnect-1",
        "disconnect",
        "open",
        1_000,
        11_000,
        None,
        {"edge": "e1"},
        {},
        "sess-1",
        "stu-1",
        "room-1",
    )
    case_id = (await cases.open_case(incident, {"hold_off_ms": 10_000})).case.case_id
    fallbacks: asyncio.Queue[CallbackEvent | MenuChoice] = asyncio.Queue()

    async def on_fallback(event: CallbackEvent | MenuChoice) -> None:
        if isinstance(event, CallbackEvent) and event.kind == "fallback":
            await fallbacks.put(event)

    secret = b"chat"
    with TwilioStandIn(auto_delay_s=0.05) as standin:
        standin.script_outcomes("no-answer", "delivered")
        app = create_app(standin.auth_token, timeline_sink(cases, on_fallback))
        async with (
            serve_asgi(app) as base,
            ChatGateway(Outbox(engine), secret, case_router(cases)) as gateway,
        ):
            settings = TwilioSettings(
                standin.account_sid,
                standin.auth_token,
                "+14155550100",
                api_base_url=standin.base_url,
                status_callback_url=f"{base}/twilio/status",
                gather_action_url=f"{base}/twilio/gather",
            )
            voice = TwilioVoiceChannel(settings, TwilioSender(settings, sleep=FakeSleep()))
            sms = TwilioSmsChannel(settings, TwilioSender(settings, sleep=FakeSleep()))
            channels = {"call": voice, "sms": sms, "chat": ChatChannel(gateway, ack_timeout_s=1)}
            dispatcher = Dispatcher(cases, directory, channels)  # type: ignore[arg-type]
            try:
                decision = Outreach(
                    "disconnect-1", case_id, "sess-1", "stu-1", "call", "disconnect", 11_000
                )
                call = await dispatcher.execute(decision, "disconnect", "ipad")
                assert call is not None and call.status == "queued"
                missed = await asyncio.wait_for(fallbacks.get(), 5)
                assert isinstance(missed, CallbackEvent) and missed.status == "no-answer"
                fallback = Outreach(
                    "disconnect-1", case_id, "sess-1", "stu-1", "sms", "no_answer", 40_000
                )
                text = await dispatcher.execute(fallback, "disconnect", "ipad")
                assert text is not None and text.status == "queued"
                token = make_token("stu-1", secret, int(time.time()) + 3600)
                async with connect(f"{gateway.url}?token={token}") as app_ws:
                    await gateway.push("stu-1", "还卡吗？", case_id=case_id)
                    shown = json.loads(await asyncio.wait_for(app_ws.recv(), 2))
                    await app_ws.send(json.dumps({"type": "ack", "id": shown["id"]}))
                    await app_ws.send(
                        json.dumps({"type": "reply", "id": "r1", "text": "好了，谢谢"})
                    )
                    assert json.loads(await asyncio.wait_for(app_ws.recv(), 2))["id"] == "r1"
                for _ in range(200):  # the SMS delivery report arrives on its own
                    kinds = [e.kind for e in await cases.timeline(case_id)]
                    if "sms_attempt_outcome" in kinds:
                        break
                    await asyncio.sleep(0.01)
            finally:
                await voice.aclose()
                await sms.aclose()
    case = await cases.get(case_id)
    assert case is not None and (case.state, case.outcome) == ("resolved", "resolved_by_chat")
    record = await cases.close(case_id, minutes_lost=0.5)
    assert not isinstance(record, Refusal) and record.attempts == 2
    assert record.to_dict()["outcome"] == "resolved_by_chat"
    kinds = [e.kind for e in await cases.timeline(case_id)]
    assert kinds[0] == "opened" and kinds[-1] == "state"
    for expected in ("attempt", "call_fallback", "sms_attempt_outcome", "chat_reply"):
        assert expected in kinds
    await engine.dispose()
