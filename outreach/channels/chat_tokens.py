"""Signed, expiring chat tokens: `student_id.expiry.signature` (HMAC-SHA256, base64url)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TokenError:
    """Why a token was refused: `malformed`, `bad_signature` or `expired`."""

    reason: str


def _sign(secret: bytes, student_id: str, expires_at: int) -> str:
    mac = hmac.new(secret, f"{student_id}.{expires_at}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def make_token(student_id: str, secret: bytes, expires_at: int) -> str:
    """A token for `student_id` valid until `expires_at` (epoch seconds)."""
    return f"{student_id}.{expires_at}.{_sign(secret, student_id, expires_at)}"


def verify_token(token: str, secret: bytes, now_s: float) -> str | TokenError:
    """The student id the token was made for, or why it is refused."""
    parts = token.rsplit(".", 2)
    if len(parts) != 3 or not parts[0] or not parts[1].isdigit():
        return TokenError("malformed")
    student_id, expiry, signature = parts
    if not hmac.compare_digest(signature, _sign(secret, student_id, int(expiry))):
        return TokenError("bad_signature")
    if int(expiry) <= now_s:
        return TokenError("expired")
    return student_id
