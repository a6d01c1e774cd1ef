"""The wait for a technician: `<Enqueue>` with a wait announcement, a longest wait, a promise.

A caller who pressed 1 joins the technicians' queue with two of our URLs: the wait URL
(Twilio asks it again and again while the caller waits; it announces the callers ahead and
the promise, and past the longest wait answers `<Leave/>`) and the action URL (Twilio posts
`QueueResult` when the wait ends, and our `<Dial>` to the agent posts `DialCallStatus` there
too). A wait that runs out, or an agent's phone that does not answer, becomes a promised
call back, said to the caller and recorded on the case (`callback_scheduled`).
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

import structlog
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Dial, VoiceResponse

from outreach.channels.twilio_signature import verified_form
from outreach.scripts.queue_wording import hand_over_text, promise_text, wait_text
from outreach.scripts.wording import CONNECTING, DEFAULT_QUEUE, SAY, language_of

log = structlog.get_logger(__name__)
WAIT_PATH: Final = "/twilio/queue-wait"
DONE_PATH: Final = "/twilio/queue-done"
# Twilio's QueueResult values that end a wait without a technician: the promise is made.
NOBODY: Final = frozenset({"leave", "queue-full", "error", "system-error"})
# A wait announcement is followed by this much hold before Twilio asks the wait URL again.
HOLD_S: Final = 20


@dataclass(frozen=True, slots=True)
class QueueWait:
    """How long a caller may wait for a technician, and the call back promised after."""

    max_wait_s: int = 120
    call_back_within_min: int = 15


@dataclass(frozen=True, slots=True)
class QueueEvent:
    """What happened to a waiting caller, for the case timeline (`kind` is its event kind)."""

    kind: str  # callback_scheduled, caller_left
    case_id: str
    provider_id: str
    data: dict[str, Any] = field(default_factory=dict)


def _say(node: VoiceResponse, text: str, language: str) -> None:
    lang, voice = SAY[language_of(language)]
    node.say(text, language=lang, voice=voice)


def _xml(response: VoiceResponse) -> str:
    return str(response.to_xml(xml_declaration=False))


def enqueue_twiml(language: str, wait_url: str, action_url: str,
                  queue: str = DEFAULT_QUEUE) -> str:
    """TwiML for key 1: thanks, then the technicians' queue with our wait and action URLs."""
    response = VoiceResponse()
    _say(response, CONNECTING[language_of(language)], language)
    response.enqueue(queue, action=action_url, method="POST", wait_url=wait_url,
                     wait_url_method="POST")
    return _xml(response)


def wait_twiml(language: str, position: int, waited_s: int, wait: QueueWait) -> str:
    """TwiML Twilio plays while the caller waits: the announcement, or `<Leave/>` past the limit."""
    response = VoiceResponse()
    if waited_s >= wait.max_wait_s:
        response.leave()
        return _xml(response)
    _say(response, wait_text(language, position, wait.max_wait_s, wait.call_back_within_min),
         language)
    response.pause(length=max(1, min(HOLD_S, wait.max_wait_s - waited_s)))
    return _xml(response)


def promise_twiml(language: str, wait: QueueWait) -> str:
    """TwiML when nobody came: the promised call back, then goodbye."""
    response = VoiceResponse()
    _say(response, promise_text(language, wait.call_back_within_min), language)
    response.hangup()
    return _xml(response)


def connect_twiml(language: str, agent_phone: str, caller_id: str, action_url: str | None,
                  ring_s: int = 20) -> str:
    """New TwiML for a waiting call: the hand-over, then the agent's phone (`<Dial>`)."""
    response = VoiceResponse()
    _say(response, hand_over_text(language), language)
    options: dict[str, Any] = {"timeout": ring_s}
    if caller_id:
        options["caller_id"] = caller_id
    if action_url:
        options |= {"action": action_url, "method": "POST"}
    dial = Dial(**options)
    dial.number(agent_phone)
    response.append(dial)
    return _xml(response)


def queue_urls(request: Request, public_base_url: str | None, case_id: str,
               language: str) -> tuple[str, str]:
    """The wait and action URLs for a caller of `case_id` (under the URL Twilio calls)."""
    base = (public_base_url or str(request.base_url)).rstrip("/")
    query = urllib.parse.urlencode({"case_id": case_id, "lang": language})
    return f"{base}{WAIT_PATH}?{query}", f"{base}{DONE_PATH}?{query}"


def _seconds(value: object) -> int:
    text = str(value or "0")
    return int(text) if text.isdigit() and len(text) < 9 else 0


def queue_routes(
    validator: RequestValidator,
    on_event: Callable[[QueueEvent], Awaitable[None]],
    wait: QueueWait,
    *,
    public_base_url: str | None = None,
    now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
) -> list[Route]:
    """`POST /twilio/queue-wait` and `/twilio/queue-done`, signed like every callback."""

    async def waiting(request: Request) -> Response:
        form = await verified_form(request, validator, public_base_url)
        if form is None:
            return PlainTextResponse("forbidden", status_code=403)
        lang = request.query_params.get("lang", "zh-CN")
        twiml = wait_twiml(lang, max(1, _seconds(form.get("QueuePosition"))),
                           _seconds(form.get("QueueTime")), wait)
        return Response(twiml, media_type="application/xml")

    async def done(request: Request) -> Response:
        form = await verified_form(request, validator, public_base_url)
        if form is None:
            return PlainTextResponse("forbidden", status_code=403)
        q = request.query_params
        lang, case_id = q.get("lang", "zh-CN"), q.get("case_id", "")
        sid = str(form.get("CallSid") or "")
        queue_result = str(form.get("QueueResult") or "")
        dial_status = str(form.get("DialCallStatus") or "")
        waited = _seconds(form.get("QueueTime"))
        if queue_result in NOBODY or dial_status not in ("", "completed", "answered"):
            due = now_ms() + wait.call_back_within_min * 60_000
            reason = queue_result or f"agent_{dial_status}"
            data = {"reason": reason, "within_min": wait.call_back_within_min, "due_ms": due,
                    "waited_s": waited}  # fmt: skip
            log.info("caller_call_back_promised", case_id=case_id, reason=reason)
            await on_event(QueueEvent("callback_scheduled", case_id, sid, data))
            return Response(promise_twiml(lang, wait), media_type="application/xml")
        if queue_result == "hangup":
            await on_event(QueueEvent("caller_left", case_id, sid, {"waited_s": waited}))
        # bridged, redirected (our Calls update to the agent runs instead), a finished talk
        return Response(_xml(VoiceResponse()), media_type="application/xml")

    return [Route(WAIT_PATH, waiting, methods=["POST"]), Route(DONE_PATH, done, methods=["POST"])]
