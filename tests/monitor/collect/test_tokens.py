"""Session tokens: the documented recipe, and every way a token is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from monitor.collect.tokens import SessionGrant, TokenRefused, mint, verify

SECRET = b"s3cret"
GRANT = SessionGrant("sess-1", "stu-1", "class-1", 1_000_000 + 3600)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_minted_token_grants_its_session() -> None:
    assert verify(mint(GRANT, SECRET), SECRET, 1_000_000, 7200) == GRANT


def test_the_documented_recipe_makes_a_token_the_collector_accepts() -> None:
    payload = b64(json.dumps({"sid": "s", "stu": "u", "cls": "c", "exp": 1_000_100}).encode())
    mac = b64(hmac.new(SECRET, f"fcs1.{payload}".encode(), hashlib.sha256).digest())
    assert verify(f"fcs1.{payload}.{mac}", SECRET, 1_000_000, 7200) == SessionGrant(
        "s", "u", "c", 1_000_100)


def test_refusals_say_why() -> None:
    token = mint(GRANT, SECRET)
    prefix, payload, mac = token.split(".")
    other = b64(json.dumps({"sid": "sess-2", "stu": "stu-1", "cls": "class-1",
                            "exp": GRANT.expires_at}).encode())
    cases = {
        None: "missing",
        "": "missing",
        "garbage": "malformed",
        f"fcs2.{payload}.{mac}": "malformed",
        f"{prefix}.{other}.{mac}": "bad_signature",  # another session under the old signature
        mint(GRANT, b"other secret"): "bad_signature",
        "fcs1." + "a" * 3000 + ".x": "malformed",
    }
    for given, reason in cases.items():
        assert verify(given, SECRET, 1_000_000, 7200) == TokenRefused(reason), given
    assert verify(token, SECRET, GRANT.expires_at, 7200) == TokenRefused("expired")
    assert verify(token, SECRET, 1_000_000, 600) == TokenRefused("too_long_lived")


def test_a_signed_payload_that_is_not_a_grant_is_malformed() -> None:
    for body in (b"[1]", b"{}", json.dumps({"sid": "", "stu": "u", "cls": "c",
                                           "exp": 1_000_100}).encode(), b"not json"):
        payload = b64(body)
        mac = b64(hmac.new(SECRET, f"fcs1.{payload}".encode(), hashlib.sha256).digest())
        assert verify(f"fcs1.{payload}.{mac}", SECRET, 1_000_000, 7200) == \
            TokenRefused("malformed")
