"""TwiML for calls: the script said in the family's language, and the one-key menu."""

from __future__ import annotations

from twilio.twiml.voice_response import Gather, VoiceResponse

from outreach.channels.twilio_queue import enqueue_twiml
from outreach.scripts.wording import (
    CALL_BACK,
    CONNECTING,
    DEFAULT_LANGUAGE,
    DEFAULT_QUEUE,
    GOODBYE,
    SAY,
    Fault,
    Language,
    language_of,
    script_for,
)


def _say(node: VoiceResponse | Gather, text: str, lang: Language) -> None:
    language, voice = SAY[lang]
    node.say(text, language=language, voice=voice)


def call_twiml(
    fault: Fault,
    device: str = "pc",
    language: str = DEFAULT_LANGUAGE,
    *,
    gather_action: str | None = None,
    conn: str = "unknown",
) -> str:
    """TwiML for the outbound call: the script, then a one-key menu said twice, then goodbye."""
    script = script_for(fault, device, language, conn)
    response = VoiceResponse()
    _say(response, script.text, script.language)
    if fault != "line":
        options: dict[str, object] = {"num_digits": 1, "timeout": 8, "method": "POST"}
        if gather_action:
            options["action"] = gather_action
        gather = Gather(**options)
        _say(gather, script.menu, script.language)
        gather.pause(length=1)
        _say(gather, script.menu, script.language)
        response.append(gather)
    _say(response, script.goodbye, script.language)
    return str(response.to_xml(xml_declaration=False))


def gather_reply_twiml(
    digits: str,
    language: str = DEFAULT_LANGUAGE,
    *,
    queue: str = DEFAULT_QUEUE,
    wait_url: str | None = None,
    action_url: str | None = None,
) -> str:
    """TwiML answering the menu: 1 joins the technicians' queue, 2 says we will call back.

    With `wait_url` and `action_url` the wait is announced and bounded (`twilio_queue`).
    """
    lang = language_of(language)
    response = VoiceResponse()
    if digits == "1" and wait_url and action_url:
        return enqueue_twiml(lang, wait_url, action_url, queue)
    if digits == "1":
        _say(response, CONNECTING[lang], lang)
        response.enqueue(queue)
    elif digits == "2":
        _say(response, CALL_BACK[lang], lang)
        response.hangup()
    else:
        _say(response, GOODBYE[lang], lang)
        response.hangup()
    return str(response.to_xml(xml_declaration=False))
