"""Signed, expiring chat tokens: `student_id.expiry.signature` (HMAC-SHA256, base64url)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Final

MAX_AHEAD_S: Final = 86_400  # a token may be valid for at most a day from now


@dataclass(frozen=True, slots=True)
class TokenError:
    """Why a token was refused: `malformed`, `bad_signature`, `expired` or `too_long_lived`."""

    reason: str


def _sign(secret: bytes, student_id: str, expires_at: int) -> str:
    mac = hmac.new(secret, f"{student_id}.{expires_at}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def make_token(student_id: str, secret: bytes, expires_at: int) -> str:
    """A token for `student_id` valid until `expires_at` (epoch seconds)."""
    return f"{student_id}.{expires_at}.{_sign(secret, student_id, expires_at)}"


def verify_token(
    token: str, secret: bytes, now_s: float, max_ahead_s: float = MAX_AHEAD_S
) -> str | TokenError:
    """The student id the token was made for, or why it is refused.

    A token whose expiry is more than `max_ahead_s` away is refused (`too_long_lived`).
    """
    parts = token[:512].rsplit(".", 2)
    if len(parts) != 3 or not parts[0] or not (parts[1].isascii() and parts[1].isdigit()) \
            or len(parts[1]) > 12:
        return TokenError("malformed")
    student_id, expiry, signature = parts
    if not hmac.compare_digest(signature, _sign(secret, student_id, int(expiry))):
        return TokenError("bad_signature")
    if int(expiry) <= now_s:
        return TokenError("expired")
    if int(expiry) > now_s + max_ahead_s:
        return TokenError("too_long_lived")
    return student_id
