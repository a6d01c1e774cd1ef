"""`firstcall outreach` as deployed (Kafka test broker, Twilio stand-in, its callback app):
a lag the family was texted about, an agent's call, the follow-up SMS after the lesson, a
reply of "2" (and Twilio's retry of it) through the service's own signed SMS webhook."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from twilio.request_validator import RequestValidator

from detectors.records import Incident, Outreach, case_id_for, encode
from monitor.apps.outreach import options_from
from monitor.platform.kafka_settings import KafkaSettings
from monitor.simulate.twilio_standin import TwilioStandIn
from monitor.streaming.outreach_service import ServiceOptions, running
from outreach.decide.clock import now_ms
from outreach.store.db import open_database
from outreach.store.directory import DirectoryStore
from outreach.store.directory_import import import_file
from outreach.store.followups import FollowupStore
from outreach.store.queue import QueueStore
from tests.monitor.apps.test_live_outreach_cli import free_port, parse
from tests.support.kafka_helpers import create_topics, isolated_settings, produce
from tests.support.kafka_procs import topic_prefix
from tests.support.live_support import FAMILIES, HEADER

JOE = "+14155550123"  # stu-sms's grandfather: SMS, English


def sms_bodies(standin: TwilioStandIn) -> list[str]:
    """Every SMS Twilio was asked to send."""
    return [r.param("Body") or "" for r in standin.requests
            if r.method == "POST" and r.path.endswith("/Messages.json")]


@pytest.mark.kafka
@pytest.mark.timeout(120)
async def test_the_service_asks_after_the_lesson_and_a_2_queues_a_case_for_the_agent(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = isolated_settings(kafka_bootstrap)
    await create_topics(s)
    (tmp_path / "f.csv").write_text(HEADER + FAMILIES, encoding="utf-8")
    db = str(tmp_path / "cases.db")
    engine = await open_database(db)
    assert (await import_file(tmp_path / "f.csv", DirectoryStore(engine))).imported
    await engine.dispose()
    with TwilioStandIn(auto_status="delivered", auto_delay_s=0.05) as standin:
        monkeypatch.setenv("FIRSTCALL_TWILIO_ACCOUNT_SID", standin.account_sid)
        monkeypatch.setenv("FIRSTCALL_TWILIO_AUTH_TOKEN", standin.auth_token)
        monkeypatch.setenv("FIRSTCALL_TWILIO_FROM_NUMBER", "+14155550100")
        monkeypatch.setenv("FIRSTCALL_TWILIO_API_BASE_URL", standin.base_url)
        settings, opts = options(db, kafka_bootstrap, topic_prefix(s))
        t0 = now_ms()
        inc = Incident("lag-1", "lag", "open", t0, t0 + 5_000, None, {"edge": "e1"}, {},
                       "sess-sms", "stu-sms", "room-1")  # fmt: skip
        o = Outreach("lag-1", case_id_for("lag-1"), "sess-sms", "stu-sms", "sms", "lag",
                     t0 + 15_000)  # fmt: skip
        async with running(settings, opts) as service:
            assert service.followups is not None
            stop = asyncio.Event()
            feed = asyncio.create_task(service.feed.run(stop))
            lesson_end = t0 + 20 * 60_000
            queue = QueueStore(service.engine, service.runner.cases)
            await queue.save_context(o.case_id, {"session_id": "sess-sms",
                                                 "lesson_end": lesson_end})
            await produce(kafka_bootstrap, s.topics.incidents, [(b"sess-sms", encode(inc))])
            await produce(kafka_bootstrap, s.topics.outcomes, [(b"sess-sms", encode(o))])
            async with asyncio.timeout(30):
                while len(sms_bodies(standin)) < 1:
                    await asyncio.sleep(0.05)

            async def text_us(body: str, sid: str) -> httpx.Response:
                url = f"{service.callback_url}/twilio/sms"
                form = {"From": JOE, "To": "+14155550100", "Body": body, "MessageSid": sid}
                signed = RequestValidator(standin.auth_token).compute_signature(url, form)
                async with httpx.AsyncClient() as client:
                    return await client.post(url, data=form,
                                             headers={"X-Twilio-Signature": signed})

            # Joe asks for a call; agent Li calls and solves it.
            assert "call you back" in (await text_us("1", "SM-1")).text
            async with asyncio.timeout(30):
                while await queue.claim(o.case_id, "agent-li") is not None:
                    await asyncio.sleep(0.05)
            assert not hasattr(await queue.resolve(o.case_id, "agent-li", "resolved_by_call"),
                               "reason")
            # The service's sweep: scheduled after the lesson, sent then (by SMS), once.
            assert await service.followups.sweep() == []
            f = await FollowupStore(service.engine).get(o.case_id)
            assert f is not None and f.due_at >= lesson_end and f.agent == "agent-li"
            assert await service.followups.sweep(f.due_at) == [o.case_id]
            assert await service.followups.sweep(f.due_at + 60_000) == []
            assert "How did we do today? Reply 1-5" in sms_bodies(standin)[-1]
            assert len(sms_bodies(standin)) == 2

            answer = await text_us("2", "SM-2")
            again = await text_us("2", "SM-2")  # Twilio's retry
            assert "will get in touch soon" in answer.text and "get in touch" in again.text
            follow = case_id_for(f"satisfaction-{o.case_id}")
            rows = [r for r in await queue.rows() if r.kind == "satisfaction"]
            assert [(r.case_id, r.reason) for r in rows] == [(follow, "low_score")]
            assert await FollowupStore(service.engine).sticky_agents([follow]) == {
                follow: "agent-li"}
            stop.set()
            await feed


def options(db: str, bootstrap: str, prefix: str) -> tuple[KafkaSettings, ServiceOptions]:
    """The service's settings and options from its own flags (as `firstcall outreach`)."""
    return options_from(parse(
        "--db", db, "--bootstrap", bootstrap, "--topic-prefix", prefix,
        "--callback-host", "127.0.0.1", "--callback-port", str(free_port()), "--probe-port", "-1",
    ))  # fmt: skip
