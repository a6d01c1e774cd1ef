"""SMS from families, as Twilio posts them (From, To, Body, MessageSid), signed like callbacks.

The route verifies `X-Twilio-Signature` exactly as the status callbacks do (403 and
nothing handled when it is missing or wrong), hands the message to a handler and
answers with the TwiML the handler returns (`<Response/>` for no reply).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from outreach.channels.twilio_signature import verified_form
from outreach.decide.sms_intents import InboundSms

DEFAULT_SMS_PATH: Final = "/twilio/sms"
EMPTY_TWIML: Final = '<?xml version="1.0" encoding="UTF-8"?><Response />'


SmsHandler = Callable[[InboundSms], Awaitable[str]]


def sms_route(
    path: str,
    validator: RequestValidator,
    handler: SmsHandler,
    *,
    public_base_url: str | None = None,
) -> Route:
    """`POST path`: Twilio's incoming-message webhook."""

    async def incoming(request: Request) -> Response:
        form = await verified_form(request, validator, public_base_url)
        if form is None:
            return PlainTextResponse("forbidden", status_code=403)
        sms = InboundSms(
            from_number=str(form.get("From") or ""),
            to_number=str(form.get("To") or ""),
            body=str(form.get("Body") or ""),
            message_sid=str(form.get("MessageSid") or form.get("SmsSid") or ""),
        )
        return Response(await handler(sms), media_type="application/xml")

    return Route(path, incoming, methods=["POST"])
