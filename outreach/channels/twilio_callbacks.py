"""Twilio status callbacks and the call menu's answers, as a Starlette app.

Every request must carry a valid `X-Twilio-Signature` (HMAC-SHA1 of the URL Twilio
called plus the sorted form parameters, keyed by the auth token); anything else gets 403.
SMS replies from families come in on the same app (`outreach.channels.twilio_inbound`).
Without an auth token (Twilio off: chat and the agent queue only) the app has no Twilio
routes at all: every request is a 404, so there is no empty key to forge a signature with.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from outreach.channels.body_limit import TWILIO_MAX_BODY, BodyLimit
from outreach.channels.twilio_inbound import DEFAULT_SMS_PATH, SmsHandler, sms_route
from outreach.channels.twilio_queue import QueueEvent, QueueWait, queue_routes, queue_urls
from outreach.channels.twilio_signature import WebhookValidator, verified_form
from outreach.channels.twilio_twiml import gather_reply_twiml
from outreach.decide.signals import CallbackEvent, MenuChoice, classify, menu_choice
from outreach.scripts.wording import DEFAULT_QUEUE
from outreach.store.cases import CaseStore

log = structlog.get_logger(__name__)

Sink = Callable[[CallbackEvent | MenuChoice], Awaitable[None]]
QueueSink = Callable[[QueueEvent], Awaitable[None]]
DETAIL_KEYS: Final = ("CallDuration", "AnsweredBy", "ErrorCode", "SipResponseCode", "Digits")


def create_app(
    auth_token: str,
    on_event: Sink,
    *,
    public_base_url: str | None = None,
    queue: str = DEFAULT_QUEUE,
    on_sms: SmsHandler | None = None,
    sms_path: str = DEFAULT_SMS_PATH,
    wait: QueueWait | None = None,
    on_queue: QueueSink | None = None,
    webhook_key: str = "",
) -> Starlette:
    """The callback app: `POST /twilio/status`, `/twilio/gather` (and SMS in at `sms_path`).

    With `on_queue` (where a waiting caller's promised call back is recorded) key 1's
    wait is announced and bounded by `wait` (`/twilio/queue-wait`, `/twilio/queue-done`).
    `webhook_key`: the SharedKey secret of HMAC-SHA256 signatures that name a key.
    """
    # Bodies are capped before the signature check reads them (413 past the cap).
    middleware = [Middleware(BodyLimit, max_bytes=TWILIO_MAX_BODY)]
    if not auth_token:
        log.warning("twilio_callbacks_off", reason="no Twilio auth token: no Twilio routes")
        return Starlette(routes=[], middleware=middleware)
    validator = WebhookValidator(auth_token, webhook_key)

    async def status(request: Request) -> Response:
        form = await verified_form(request, validator, public_base_url)
        if form is None:
            return PlainTextResponse("forbidden", status_code=403)
        q = request.query_params
        channel = q.get("channel") or ("call" if "CallSid" in form else "sms")
        value = str(form.get("CallStatus") or form.get("MessageStatus") or "")
        sid = str(form.get("CallSid") or form.get("MessageSid") or "")
        event = CallbackEvent(
            kind=classify(channel, value, str(form.get("AnsweredBy") or "")),
            channel=channel,
            status=value,
            provider_id=sid,
            case_id=q.get("case_id", ""),
            message_id=q.get("message_id", ""),
            detail={k: str(form[k]) for k in DETAIL_KEYS if k in form},
        )
        log.info("twilio_status", case_id=event.case_id, status=value, kind=event.kind)
        await on_event(event)
        return Response(status_code=204)

    async def gather(request: Request) -> Response:
        form = await verified_form(request, validator, public_base_url)
        if form is None:
            return PlainTextResponse("forbidden", status_code=403)
        q = request.query_params
        digits = str(form.get("Digits") or "")
        choice = MenuChoice(
            choice=menu_choice(digits),
            digits=digits,
            provider_id=str(form.get("CallSid") or ""),
            case_id=q.get("case_id", ""),
            message_id=q.get("message_id", ""),
        )
        log.info("twilio_menu", case_id=choice.case_id, choice=choice.choice)
        await on_event(choice)
        lang = q.get("lang", "zh-CN")
        urls = queue_urls(request, public_base_url, choice.case_id, lang) if on_queue else None
        twiml = gather_reply_twiml(digits, lang, queue=queue, wait_url=urls and urls[0],
                                   action_url=urls and urls[1])  # fmt: skip
        return Response(twiml, media_type="application/xml")

    routes = [
        Route("/twilio/status", status, methods=["POST"]),
        Route("/twilio/gather", gather, methods=["POST"]),
    ]
    if on_queue is not None:
        routes += queue_routes(validator, on_queue, wait or QueueWait(),
                               public_base_url=public_base_url)
    if on_sms is not None:
        routes.append(sms_route(sms_path, validator, on_sms, public_base_url=public_base_url))
    return Starlette(routes=routes, middleware=middleware)


def queue_timeline(store: CaseStore) -> QueueSink:
    """A queue sink that puts a waiting caller's promised call back (or hang-up) on its case."""

    async def sink(event: QueueEvent) -> None:
        if event.case_id:
            await store.add_event(event.case_id, event.kind,
                                  {"provider_id": event.provider_id, **event.data}, actor="twilio")

    return sink


def timeline_sink(store: CaseStore, then: Sink | None = None) -> Sink:
    """A sink that puts every callback on its case's timeline, then calls `then`."""

    async def sink(event: CallbackEvent | MenuChoice) -> None:
        if isinstance(event, CallbackEvent):
            kind = f"{event.channel}_{event.kind}"
            data = {"status": event.status, "provider_id": event.provider_id, **event.detail}
        else:
            kind = "menu_choice"
            data = {
                "choice": event.choice,
                "digits": event.digits,
                "provider_id": event.provider_id,
            }
        if event.case_id:
            data["message_id"] = event.message_id
            await store.add_event(event.case_id, kind, data, actor="twilio")
        if then is not None:
            await then(event)

    return sink
