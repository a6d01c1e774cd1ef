"""Forged and replayed Twilio callbacks: without our account's signature nothing happens."""

from __future__ import annotations

import httpx
import pytest
from twilio.request_validator import RequestValidator

from outreach.channels.twilio_callbacks import create_app
from outreach.decide.signals import CallbackEvent, MenuChoice

TOKEN = "our-auth-token"
FORM = {"CallSid": "CA" + "1" * 32, "CallStatus": "completed", "AccountSid": "AC" + "0" * 32,
        "Digits": "1", "From": "+14155550123", "To": "+14155550100", "Body": "STOP",
        "MessageSid": "SM" + "1" * 32}
PATHS = ["/twilio/status?case_id=c1&message_id=m1&channel=call", "/twilio/gather?case_id=c1",
         "/twilio/sms"]


async def post(path: str, form: dict[str, str], signature: str | None) -> tuple[int, list[object]]:
    seen: list[object] = []

    async def sink(event: CallbackEvent | MenuChoice) -> None:
        seen.append(event)

    async def sms(message: object) -> str:
        seen.append(message)
        return "<Response/>"

    app = create_app(TOKEN, sink, on_sms=sms)
    headers = {} if signature is None else {"X-Twilio-Signature": signature}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://cb") as c:
        r = await c.post(path, data=form, headers=headers)
    return r.status_code, seen


def sign(path: str, form: dict[str, str], token: str = TOKEN) -> str:
    return str(RequestValidator(token).compute_signature("http://cb" + path, form))


@pytest.mark.parametrize("path", PATHS)
async def test_unsigned_wrong_key_empty_key_and_tampered_are_403(path: str) -> None:
    tampered = {**FORM, "CallStatus": "no-answer", "Body": "START"}
    for form, signature in ((FORM, None), (FORM, ""), (FORM, sign(path, FORM, "guess")),
                            (FORM, sign(path, FORM, "")), (tampered, sign(path, FORM))):
        status, seen = await post(path, form, signature)
        assert (status, seen) == (403, [])


@pytest.mark.parametrize("path", PATHS)
async def test_a_signature_for_another_url_is_403(path: str) -> None:
    other = path.replace("c1", "c2") if "c1" in path else path + "?x=1"
    status, seen = await post(path, FORM, sign(other, FORM))
    assert (status, seen) == (403, [])


@pytest.mark.parametrize("path", PATHS)
async def test_a_genuine_callback_is_handled(path: str) -> None:
    status, seen = await post(path, FORM, sign(path, FORM))
    assert status in (200, 204) and len(seen) == 1
