# ruff: noqa: RUF001
"""Chat tokens (HMAC, expiring) and reply intents (pure)."""

from __future__ import annotations

import pytest

from outreach.channels.chat_tokens import TokenError, make_token, verify_token
from outreach.decide.chat_intents import intent_of

SECRET = b"chat-secret"


def test_token_round_trip_and_refusals() -> None:
    token = make_token("stu.1", SECRET, expires_at=1_000)
    assert verify_token(token, SECRET, now_s=999.5) == "stu.1"
    assert verify_token(token, SECRET, now_s=1_000) == TokenError("expired")
    assert verify_token(token, b"other", now_s=0) == TokenError("bad_signature")
    forged = token.replace("stu.1", "stu.2", 1)
    assert verify_token(forged, SECRET, now_s=0) == TokenError("bad_signature")
    later = make_token("stu.1", SECRET, 1_000).replace(".1000.", ".9999.")
    assert verify_token(later, SECRET, now_s=0) == TokenError("bad_signature")
    for bad in ("", "abc", "a.b.c", ".1.x"):
        assert verify_token(bad, SECRET, now_s=0) == TokenError("malformed")


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("好了", "resolved"),
        ("好了，谢谢！", "resolved"),
        ("现在没问题了", "resolved"),
        ("It is fine now", "resolved"),
        ("ok thanks", "resolved"),
        ("it works again", "resolved"),
        ("不好意思，已经好了", "resolved"),
        ("帮忙", "needs_help"),
        ("请帮忙看看", "needs_help"),
        ("please help", "needs_help"),
        ("Please HELP!!", "needs_help"),
        ("不好了", "needs_help"),
        ("还是卡", "needs_help"),
        ("还没好", "needs_help"),
        ("not fine", "needs_help"),
        ("it doesn't work", "needs_help"),
        ("谁？", "unknown"),
        ("", "unknown"),
        ("okapi", "unknown"),
    ],
)
def test_intents(text: str, intent: str) -> None:
    assert intent_of(text) == intent
