"""Checking `X-Twilio-Signature` on a request Twilio made (status callbacks, menu keys, SMS in).

The signature is an HMAC-SHA1 of the URL Twilio called plus the sorted form
parameters, keyed by the account's auth token (twilio's `RequestValidator`).
"""

from __future__ import annotations

import urllib.parse

import structlog
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from twilio.request_validator import RequestValidator

log = structlog.get_logger(__name__)


def signed_url(request: Request, public_base_url: str | None) -> str:
    """The URL Twilio signed: as requested, or under `public_base_url` behind a proxy."""
    if not public_base_url:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return public_base_url.rstrip("/") + request.url.path + query


async def verified_form(
    request: Request, validator: RequestValidator, public_base_url: str | None
) -> FormData | None:
    """The posted form when its signature is valid; None (logged) when unsigned or forged."""
    signature = request.headers.get("X-Twilio-Signature", "")
    # Parsed here (no python-multipart needed): Twilio posts urlencoded forms.
    body = (await request.body()).decode("utf-8", "replace")
    pairs: list[tuple[str, str | UploadFile]] = []
    pairs.extend(urllib.parse.parse_qsl(body, keep_blank_values=True))
    form = FormData(pairs)
    url = signed_url(request, public_base_url)
    if not signature or not validator.validate(url, form, signature):
        log.warning("twilio_signature_rejected", path=request.url.path)
        return None
    return form
