"""No Twilio auth token ("chat and agent queue only"): the Twilio routes do not exist.

Issue 15, point 5: with an empty token every request "signed" with the empty key used
to pass the signature check (a forged "1" queued a case, a forged STOP opted a family
out, forged status callbacks wrote into timelines). Now there is nothing to forge:
404 for known and unknown numbers alike, and nothing is written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from detectors.records import case_id_for
from monitor.cli import main
from monitor.platform.settings import load_settings, twilio_settings
from monitor.streaming.outreach_service import callback_app
from outreach.store.models import case_events, cases, queue_entries, sms_consent, sms_opt_outs
from outreach.store.queue import QueueStore
from tests.outreach.contact.test_sms_replies import GRANNY, JOE, LISTENING, STRANGER
from tests.support.casedb import sqlite_engine
from tests.support.live_support import Harness, decision, harness, incident, until

BASE = "http://cb"
TABLES = (cases, case_events, queue_entries, sms_opt_outs, sms_consent)


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    engine = await sqlite_engine(tmp_path)
    h = await harness(engine, tmp_path, LISTENING)
    h.runner.queue = QueueStore(engine, h.cases)
    try:
        yield h
    finally:
        await h.runner.aclose()
        await engine.dispose()


async def rows(h: Harness) -> dict[str, int]:
    async with h.engine.connect() as conn:
        return {t.name: int((await conn.execute(sa.select(sa.func.count()).select_from(t)))
                            .scalar_one()) for t in TABLES}


def forged(path: str, sender: str) -> tuple[str, dict[str, str], dict[str, str]]:
    form = {"From": sender, "To": "+14155550100", "Body": "STOP", "Digits": "1",
            "MessageSid": "SM" + "1" * 32, "CallSid": "CA" + "1" * 32,
            "CallStatus": "completed", "AccountSid": "AC" + "0" * 32}
    signature = RequestValidator("").compute_signature(BASE + path, form)
    return path, form, {"X-Twilio-Signature": signature}


async def test_without_a_token_forged_callbacks_get_404_and_write_nothing(h: Harness) -> None:
    inc = incident(1, student="stu-sms")  # a real case, with a real family's number on it
    await h.runner.handle(inc)
    await h.runner.handle(decision(inc, "sms"))
    await until(lambda: len(h.fakes["sms"].sent) == 1)
    case = case_id_for(inc.incident_id)
    before = await rows(h)
    app = callback_app(h.runner, "")
    answers = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=BASE) as c:
        for sender in (JOE, GRANNY, STRANGER):
            for path in (f"/twilio/status?case_id={case}&message_id=m1&channel=call",
                         f"/twilio/gather?case_id={case}&message_id=m1", "/twilio/sms"):
                p, form, headers = forged(path, sender)
                r = await c.post(p, data=form, headers=headers)
                answers.append((r.status_code, r.headers.get("content-type"), r.text))
    assert {a[0] for a in answers} == {404}
    assert len(set(answers)) == 1, "the same answer for every number and path"
    assert await rows(h) == before
    assert h.runner.queue is not None and await h.runner.queue.rows() == []



def test_config_check_says_twilio_is_off_as_a_note(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ACCOUNT_SID", "AUTH_TOKEN", "FROM_NUMBER"):
        monkeypatch.delenv(f"FIRSTCALL_TWILIO_{name}", raising=False)
        monkeypatch.delenv(f"TWILIO_{name}", raising=False)
    monkeypatch.delenv("FIRSTCALL_CONFIG", raising=False)
    monkeypatch.setenv("FIRSTCALL_PUBLIC_BASE_URL", "https://support.example.org")
    monkeypatch.setenv("FIRSTCALL_TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("FIRSTCALL_TWILIO_FROM_NUMBER", "+14155550100")
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out
    assert "note: Twilio is off" in out and "configuration OK" in out
    assert twilio_settings(load_settings().twilio) is None, "no token: no calls either"
    monkeypatch.setenv("FIRSTCALL_TWILIO_AUTH_TOKEN", "tok")
    assert main(["config", "check"]) == 0
    assert "Twilio is off" not in capsys.readouterr().out
