"""`firstcall outreach`: flags and environment, and the assembled service on a real broker."""

from __future__ import annotations

import argparse
import asyncio
import socket
from pathlib import Path

import httpx
import pytest
from twilio.request_validator import RequestValidator

from detectors.records import Incident, Outreach, case_id_for, encode
from monitor.apps.outreach import options_from
from monitor.cli import build_parser
from monitor.simulate.twilio_standin import TwilioStandIn
from monitor.streaming.outreach_service import running
from outreach.store.db import open_database
from outreach.store.directory import DirectoryStore
from outreach.store.directory_import import import_file
from tests.support.kafka_helpers import collect, create_topics, isolated_settings, produce, values
from tests.support.kafka_procs import topic_prefix


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["outreach", *argv])


SID = "AC" + "1" * 32


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_twilio_and_the_callback_url_come_from_the_deployment_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FIRSTCALL_TWILIO_ACCOUNT_SID", SID)
    monkeypatch.setenv("FIRSTCALL_TWILIO_AUTH_TOKEN", "tok")
    monkeypatch.setenv("FIRSTCALL_TWILIO_FROM_NUMBER", "+14155550100")
    monkeypatch.setenv("FIRSTCALL_PUBLIC_BASE_URL", "https://firstcall.example.org/")
    monkeypatch.setenv("FIRSTCALL_CHAT_SECRET", "s3cret")
    monkeypatch.setenv("FIRSTCALL_SMS_REPLY_PATH", "/in/sms")
    settings, opts = options_from(
        parse("--db", "x.db", "--topic-prefix", "p.", "--chat-wait-s", "30")
    )
    assert opts.twilio is not None and opts.twilio.account_sid == SID
    assert opts.twilio.status_callback_url == "https://firstcall.example.org/twilio/status"
    assert opts.chat_secret == b"s3cret" and opts.live.waits.chat_s == 30
    assert opts.sms_reply_path == "/in/sms"
    assert settings.topics.incidents == "p.support.incidents" and opts.db == "x.db"


def test_without_twilio_there_are_no_phone_channels(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ACCOUNT_SID", "AUTH_TOKEN", "FROM_NUMBER"):
        monkeypatch.delenv(f"FIRSTCALL_TWILIO_{name}", raising=False)
        monkeypatch.delenv(f"TWILIO_{name}", raising=False)
    _, opts = options_from(parse())
    assert opts.twilio is None and opts.decide is False


@pytest.mark.kafka
@pytest.mark.timeout(90)
async def test_the_service_calls_and_publishes_the_outcome(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = isolated_settings(kafka_bootstrap)
    await create_topics(s)
    families = tmp_path / "f.csv"
    families.write_text(
        "student_id,student_name,guardian_name,phone,relation\n"
        "stu-1,小明,王奶奶,+8613812345678,grandmother\n", encoding="utf-8",
    )  # fmt: skip
    db = str(tmp_path / "cases.db")
    engine = await open_database(db)
    assert (await import_file(families, DirectoryStore(engine))).imported
    await engine.dispose()
    port = free_port()
    with TwilioStandIn(auto_status="completed", auto_delay_s=0.05) as standin:
        monkeypatch.setenv("FIRSTCALL_TWILIO_ACCOUNT_SID", standin.account_sid)
        monkeypatch.setenv("FIRSTCALL_TWILIO_AUTH_TOKEN", standin.auth_token)
        monkeypatch.setenv("FIRSTCALL_TWILIO_FROM_NUMBER", "+14155550100")
        monkeypatch.setenv("FIRSTCALL_TWILIO_API_BASE_URL", standin.base_url)
        args = parse(
            "--db", db, "--bootstrap", kafka_bootstrap, "--topic-prefix", topic_prefix(s),
            "--callback-host", "127.0.0.1", "--callback-port", str(port), "--probe-port", "-1",
        )  # fmt: skip
        settings, opts = options_from(args)
        inc = Incident("disconnect-1", "disconnect", "open", 1_000, 11_000, None, {"edge": "e1"},
                       {}, "sess-1", "stu-1", "room-1")  # fmt: skip
        closed = Incident("disconnect-1", "disconnect", "closed", 1_000, 11_000, 61_000,
                          {"edge": "e1"}, {}, "sess-1", "stu-1", "room-1")  # fmt: skip
        o = Outreach("disconnect-1", case_id_for("disconnect-1"), "sess-1", "stu-1", "call",
                     "disconnect", 21_000)  # fmt: skip
        async with running(settings, opts) as service:
            stop = asyncio.Event()
            feed = asyncio.create_task(service.feed.run(stop))
            await produce(kafka_bootstrap, s.topics.incidents, [(b"sess-1", encode(inc))])
            await produce(kafka_bootstrap, s.topics.outcomes, [(b"sess-1", encode(o))])
            async with asyncio.timeout(30):
                while not any(r.param("StatusCallback") for r in standin.requests):
                    await asyncio.sleep(0.05)
                while "call_attempt_outcome" not in [
                    e.kind for e in await service.runner.cases.timeline(o.case_id)
                ]:
                    await asyncio.sleep(0.05)
            await produce(kafka_bootstrap, s.topics.incidents, [(b"sess-1", encode(closed))])
            # The family's case closes once it has been fine for case_reopen_ms (event time:
            # another family's incident later in the day moves it on).
            later = Incident("lag-2", "lag", "open", 61_000 + opts.policy.case_reopen_ms,
                             61_000 + opts.policy.case_reopen_ms, None, {"edge": "e2"}, {},
                             "sess-2", "stu-2", "room-2")  # fmt: skip
            await produce(kafka_bootstrap, s.topics.incidents, [(b"sess-2", encode(later))])
            records = values(await collect(kafka_bootstrap, s.topics.outcomes, until=2))
            # Families' SMS replies come in, signed, on the same callback app.
            url = f"{service.callback_url}/twilio/sms"
            form = {"From": "+14155550199", "Body": "1", "MessageSid": "SM1"}
            signed = RequestValidator(standin.auth_token).compute_signature(url, form)
            async with httpx.AsyncClient() as client:
                ok = await client.post(url, data=form, headers={"X-Twilio-Signature": signed})
                forged = await client.post(url, data=form, headers={"X-Twilio-Signature": "x"})
            assert (ok.status_code, forged.status_code) == (200, 403)
            stop.set()
            await feed
    [outcome] = [r for r in records if r["record"] == "outcome"]
    assert (outcome["outcome"], outcome["lesson_minutes_lost"]) == ("resolved_by_call", 1.0)
    assert outcome["case_id"] == o.case_id and outcome["attempts"] == 1
