"""Checking `X-Twilio-Signature` on a request Twilio made (status callbacks, menu keys, SMS in).

What twilio's `RequestValidator` supports is accepted: the signature is an HMAC (SHA-1, or
SHA-256 when `X-Twilio-Webhooks-Signature-Settings` names `algorithm=HMAC_SHA256`) of the
URL Twilio called plus the sorted form parameters. It is keyed by the account's auth token,
or, when that header names a SharedKey and its secret is configured (`webhook_key`), by
that secret alone. A JSON webhook is signed on its URL alone, which carries `bodySHA256`,
the SHA-256 of the body.
"""

from __future__ import annotations

import json
import urllib.parse

import structlog
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from twilio.request_validator import (
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

log = structlog.get_logger(__name__)


class WebhookValidator(RequestValidator):  # type: ignore[misc]
    """The auth token's validator, and a SharedKey secret's for requests that name one."""

    def __init__(self, token: str, shared_key: str = "") -> None:
        super().__init__(token)
        self.shared = RequestValidator(shared_key) if shared_key else None

    def pick(self, settings_header: str) -> RequestValidator:
        """The validator for a request with this X-Twilio-Webhooks-Signature-Settings value."""
        return self.shared if settings_header and self.shared is not None else self


def signed_url(request: Request, public_base_url: str | None) -> str:
    """The URL Twilio signed: as requested, or under `public_base_url` behind a proxy."""
    if not public_base_url:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return public_base_url.rstrip("/") + request.url.path + query


def json_pairs(body: str) -> list[tuple[str, str]] | None:
    """A JSON webhook's top-level fields as form pairs (None: not a JSON object)."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    return [(str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in data.items()]


async def verified_form(
    request: Request, validator: RequestValidator, public_base_url: str | None
) -> FormData | None:
    """The posted fields when the signature is valid; None (logged) when unsigned or forged.

    A urlencoded form is signed with its parameters; a JSON body (`bodySHA256` in the
    URL) is checked against that hash and its top-level fields are returned as the form.
    """
    signature = request.headers.get("X-Twilio-Signature", "")
    settings_header = request.headers.get(SIGNATURE_SETTINGS_HEADER, "")
    algorithm = get_signature_algorithm(settings_header)
    if isinstance(validator, WebhookValidator):
        validator = validator.pick(settings_header)
    # Parsed here (no python-multipart needed): Twilio posts urlencoded forms or JSON.
    body = (await request.body()).decode("utf-8", "replace")
    url = signed_url(request, public_base_url)
    pairs: list[tuple[str, str | UploadFile]] = []
    if "bodySHA256" in request.query_params:
        fields = json_pairs(body)
        valid = fields is not None and validator.validate(url, body, signature, algorithm)
        pairs.extend(fields or [])
    else:
        pairs.extend(urllib.parse.parse_qsl(body, keep_blank_values=True))
        valid = validator.validate(url, FormData(pairs), signature, algorithm)
    if not signature or not valid:
        log.warning("twilio_signature_rejected", path=request.url.path, algorithm=algorithm)
        return None
    return FormData(pairs)
