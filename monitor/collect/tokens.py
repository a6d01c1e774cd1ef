"""Signed, short-lived session tokens binding one session, student and classroom.

The recipe (docs/collector.md), so a class app's backend in any language can mint them:

    payload = base64url(JSON {"sid": session_id, "stu": student_id, "cls": classroom_id,
                              "exp": expiry epoch seconds})          (no padding)
    mac     = base64url(HMAC-SHA256(secret, "fcs1." + payload))     (no padding)
    token   = "fcs1." + payload + "." + mac
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Final

PREFIX: Final = "fcs1"
MAX_TOKEN_CHARS: Final = 2048


@dataclass(frozen=True, slots=True)
class SessionGrant:
    """What a valid token allows: events of this one session."""

    session_id: str
    student_id: str
    classroom_id: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class TokenRefused:
    """Why a token was refused: `missing`, `malformed`, `bad_signature`, `expired`,
    `too_long_lived`."""

    reason: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, f"{PREFIX}.{payload}".encode(), hashlib.sha256).digest())


def mint(grant: SessionGrant, secret: bytes) -> str:
    """A token for `grant` (what `firstcall token` prints)."""
    body = {"sid": grant.session_id, "stu": grant.student_id, "cls": grant.classroom_id,
            "exp": grant.expires_at}
    payload = _b64(json.dumps(body, separators=(",", ":")).encode())
    return f"{PREFIX}.{payload}.{_mac(secret, payload)}"


def _id(value: object) -> str | None:
    return value if isinstance(value, str) and 1 <= len(value) <= 128 else None


def verify(token: str | None, secret: bytes, now_s: float,
           max_ttl_s: float) -> SessionGrant | TokenRefused:
    """The grant a token carries, or why it is refused (signature checked in constant time)."""
    if not token:
        return TokenRefused("missing")
    parts = token.split(".")
    if len(token) > MAX_TOKEN_CHARS or len(parts) != 3 or parts[0] != PREFIX:
        return TokenRefused("malformed")
    _, payload, mac = parts
    if not hmac.compare_digest(mac.encode(), _mac(secret, payload).encode()):
        return TokenRefused("bad_signature")
    try:
        body = json.loads(_unb64(payload))
    except (ValueError, binascii.Error):
        return TokenRefused("malformed")
    if not isinstance(body, dict):
        return TokenRefused("malformed")
    sid, stu, cls, exp = _id(body.get("sid")), _id(body.get("stu")), _id(body.get("cls")), \
        body.get("exp")
    if sid is None or stu is None or cls is None or type(exp) is not int:
        return TokenRefused("malformed")
    if exp <= now_s:
        return TokenRefused("expired")
    if exp > now_s + max_ttl_s:
        return TokenRefused("too_long_lived")
    return SessionGrant(sid, stu, cls, exp)
