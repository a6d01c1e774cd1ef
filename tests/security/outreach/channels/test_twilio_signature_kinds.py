"""Every signature kind twilio's RequestValidator checks is accepted; forgeries of each are 403."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest
from twilio.request_validator import SIGNATURE_SETTINGS_HEADER, RequestValidator

from outreach.channels.twilio_callbacks import create_app
from outreach.decide.signals import CallbackEvent, MenuChoice

TOKEN = "our-auth-token"
FORM = {"CallSid": "CA" + "2" * 32, "CallStatus": "no-answer", "AccountSid": "AC" + "0" * 32}
STATUS = "/twilio/status?case_id=c1&message_id=m1&channel=call"
SHA256 = {SIGNATURE_SETTINGS_HEADER: "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"}


async def post(
    path: str, headers: dict[str, str], *, form: dict[str, str] | None = None,
    body: str | None = None,
) -> tuple[int, list[CallbackEvent | MenuChoice]]:
    seen: list[CallbackEvent | MenuChoice] = []

    async def sink(event: CallbackEvent | MenuChoice) -> None:
        seen.append(event)

    app = create_app(TOKEN, sink)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://cb") as c:
        if body is not None:
            headers = {**headers, "Content-Type": "application/json"}
            r = await c.post(path, content=body.encode(), headers=headers)
        else:
            r = await c.post(path, data=form, headers=headers)
    return r.status_code, seen


def sign(path: str, params: dict[str, str], algorithm: str | None = None,
         token: str = TOKEN) -> str:
    return str(RequestValidator(token).compute_signature("http://cb" + path, params, algorithm))


def json_path(body: str) -> str:
    return STATUS + "&bodySHA256=" + hashlib.sha256(body.encode()).hexdigest()


async def test_hmac_sha256_form_callback_is_handled() -> None:
    signature = sign(STATUS, FORM, "HMAC_SHA256")
    status, seen = await post(STATUS, {"X-Twilio-Signature": signature, **SHA256}, form=FORM)
    assert status == 204
    assert [(e.status, e.case_id) for e in seen if isinstance(e, CallbackEvent)] == [
        ("no-answer", "c1")]


async def test_hmac_sha256_forgeries_are_403() -> None:
    tampered = {**FORM, "CallStatus": "completed"}
    for form, signature in ((FORM, sign(STATUS, FORM, "HMAC_SHA256", "guess")),
                            (tampered, sign(STATUS, FORM, "HMAC_SHA256")),
                            (FORM, sign(STATUS, FORM))):  # a SHA-1 signature said to be SHA-256
        status, seen = await post(STATUS, {"X-Twilio-Signature": signature, **SHA256}, form=form)
        assert (status, seen) == (403, [])


async def test_an_unknown_algorithm_is_403() -> None:
    headers = {"X-Twilio-Signature": sign(STATUS, FORM),
               SIGNATURE_SETTINGS_HEADER: "key=k,algorithm=HMAC_MD5"}
    assert await post(STATUS, headers, form=FORM) == (403, [])


@pytest.mark.parametrize("algorithm", [None, "HMAC_SHA256"])
async def test_json_webhook_with_body_hash_is_handled(algorithm: str | None) -> None:
    body = json.dumps(FORM)
    path = json_path(body)
    headers = {"X-Twilio-Signature": sign(path, {}, algorithm)}
    if algorithm:
        headers |= SHA256
    status, seen = await post(path, headers, body=body)
    assert status == 204
    assert [(e.status, e.provider_id) for e in seen if isinstance(e, CallbackEvent)] == [
        ("no-answer", FORM["CallSid"])]


async def test_json_webhook_with_a_changed_body_or_no_json_is_403() -> None:
    body = json.dumps(FORM)
    path = json_path(body)
    signature = sign(path, {})
    changed = json.dumps({**FORM, "CallStatus": "completed"})
    assert await post(path, {"X-Twilio-Signature": signature}, body=changed) == (403, [])
    for not_object in ("[1, 2]", "not json"):
        p = json_path(not_object)
        assert await post(p, {"X-Twilio-Signature": sign(p, {})}, body=not_object) == (403, [])


async def post_keyed(headers: dict[str, str], key: str) -> tuple[int, int]:
    seen: list[CallbackEvent | MenuChoice] = []

    async def sink(event: CallbackEvent | MenuChoice) -> None:
        seen.append(event)

    app = create_app(TOKEN, sink, webhook_key=key)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://cb") as c:
        r = await c.post(STATUS, data=FORM, headers=headers)
    return r.status_code, len(seen)


async def test_a_shared_key_signature_is_checked_with_the_shared_key_alone() -> None:
    shared = "shared-key-secret"
    by_key = sign(STATUS, FORM, "HMAC_SHA256", shared)
    assert await post_keyed({"X-Twilio-Signature": by_key, **SHA256}, shared) == (204, 1)
    by_token = sign(STATUS, FORM, "HMAC_SHA256")  # the token is not the key named
    assert await post_keyed({"X-Twilio-Signature": by_token, **SHA256}, shared) == (403, 0)
    # requests without the settings header are still the auth token's
    assert await post_keyed({"X-Twilio-Signature": sign(STATUS, FORM)}, shared) == (204, 1)
    assert await post_keyed({"X-Twilio-Signature": sign(STATUS, FORM, token=shared)},
                            shared) == (403, 0)
