"""Delivering the digest: an email (SMTP, HTML with a plain-text part) and a signed webhook.

The webhook body is JSON (`webhook_payload`); its signature is
`X-FirstCall-Signature: sha256=<hex HMAC-SHA256(key, "<timestamp>." + body)>` with
`X-FirstCall-Timestamp: <unix seconds>`, so a receiver can check both who sent it
and that it is fresh (docs/voc.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import smtplib
import ssl
from email.message import EmailMessage
from typing import Any, Final

import aiohttp

from monitor.platform.settings import DigestSection
from monitor.voc_format import markdown, sections, title
from monitor.voc_html import html
from outreach.decide.voc_rules import Digest

PAYLOAD_VERSION: Final = 1
SIGNATURE_HEADER: Final = "X-FirstCall-Signature"
TIMESTAMP_HEADER: Final = "X-FirstCall-Timestamp"


class DeliveryError(RuntimeError):
    """The digest could not be delivered (the message says where and why)."""


def problems(settings: DigestSection) -> list[str]:
    """What is missing to send: empty when at least one way is fully configured."""
    out = []
    if settings.smtp_host and not (settings.email_from and recipients(settings)):
        out.append("email needs digest.email_from and digest.email_to")
    if settings.webhook_url:
        if not settings.webhook_url.startswith(("https://", "http://")):
            out.append("digest.webhook_url must be an http(s) URL")
        if not settings.webhook_key.get_secret_value():
            out.append("digest.webhook_key is required with digest.webhook_url")
    if not settings.smtp_host and not settings.webhook_url:
        out.append("nothing to send to: set digest.smtp_host or digest.webhook_url")
    return out


def recipients(settings: DigestSection) -> list[str]:
    """The email recipients."""
    return [a.strip() for a in settings.email_to.split(",") if a.strip()]


def email_message(digest: Digest, settings: DigestSection) -> EmailMessage:
    """The digest as an email: Markdown text, with the HTML page (inline SVG) as alternative."""
    msg = EmailMessage()
    msg["Subject"] = title(digest)
    msg["From"] = settings.email_from
    msg["To"] = ", ".join(recipients(settings))
    msg.set_content(markdown(digest))
    msg.add_alternative(html(digest), subtype="html")
    return msg


def _smtp_send(msg: EmailMessage, settings: DigestSection) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port,
                      timeout=settings.timeout_s) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
        smtp.send_message(msg)


async def send_email(digest: Digest, settings: DigestSection) -> None:
    """Send the digest email (smtplib in a thread)."""
    try:
        await asyncio.to_thread(_smtp_send, email_message(digest, settings), settings)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"email via {settings.smtp_host}:{settings.smtp_port}: {exc}") \
            from exc


def webhook_payload(digest: Digest) -> dict[str, Any]:
    """The webhook's JSON: the period, each team's top problems and the Markdown digest."""
    return {
        "version": PAYLOAD_VERSION,
        "title": title(digest),
        "since_ms": digest.current.since_ms,
        "until_ms": digest.current.until_ms,
        "previous_since_ms": digest.previous.since_ms,
        "problems": {s.team: [p.to_dict() for p in s.problems] for s in sections(digest)},
        "worse_release": None if digest.worse_release is None else {
            "new": digest.worse_release.new.key, "before": digest.worse_release.before.key},
        "markdown": markdown(digest),
    }


def sign(key: bytes, timestamp: int, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256 over `<timestamp>.` + body."""
    mac = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


async def post_webhook(digest: Digest, settings: DigestSection, now_s: int) -> int:
    """POST the signed payload once; returns the HTTP status (2xx) or raises DeliveryError."""
    body = json.dumps(webhook_payload(digest), separators=(",", ":")).encode()
    key = settings.webhook_key.get_secret_value().encode()
    headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: str(now_s),
               SIGNATURE_HEADER: sign(key, now_s, body),
               "Idempotency-Key": f"voc-{digest.current.since_ms}-{digest.current.until_ms}"}
    timeout = aiohttp.ClientTimeout(total=settings.timeout_s)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, session.post(
                settings.webhook_url, data=body, headers=headers) as resp:
            status = resp.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise DeliveryError(f"webhook: {type(exc).__name__}: {exc}") from exc
    if not 200 <= status < 300:
        raise DeliveryError(f"webhook answered {status}")
    return status


async def deliver(digest: Digest, settings: DigestSection, now_s: int) -> list[str]:
    """Send by every configured way; returns what was done (raises on the first failure)."""
    done = []
    if settings.smtp_host:
        await send_email(digest, settings)
        done.append(f"emailed {len(recipients(settings))} recipients via {settings.smtp_host}")
    if settings.webhook_url:
        status = await post_webhook(digest, settings, now_s)
        done.append(f"webhook answered {status}")
    return done
