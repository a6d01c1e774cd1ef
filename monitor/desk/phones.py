"""Production phone wiring of the desk: guardians from the family directory, Twilio callbacks.

A call that is not answered (no-answer, busy, failed) or a guardian pressing 1
for a technician puts the case in the call queue.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.routing import BaseRoute

from monitor.desk.desk import Desk, PhoneLookup
from outreach.channels.twilio_callbacks import create_app, timeline_sink
from outreach.channels.twilio_client import TwilioSettings
from outreach.channels.twilio_voice import TwilioVoiceChannel
from outreach.decide.signals import CallbackEvent, MenuChoice
from outreach.store.directory import DirectoryStore

log = structlog.get_logger(__name__)


def directory_phones(engine: AsyncEngine) -> PhoneLookup:
    """(name, phone, language) of the first guardian who may be called, from the directory."""
    directory = DirectoryStore(engine)

    async def lookup(student_id: str) -> tuple[str, str | None, str]:
        student = await directory.get(student_id)
        if student is None:
            return ("unknown family", None, "zh-CN")
        for g in student.guardians:
            if g.phone and not g.do_not_call:
                return (g.name, g.phone, g.language)
        return (student.guardians[0].name if student.guardians else "family", None,
                student.language)

    return lookup


def queue_on_callback(desk: Desk) -> Callable[[CallbackEvent | MenuChoice], Awaitable[None]]:
    """After a callback is on the timeline: queue the case if the call needs a person."""

    async def then(event: CallbackEvent | MenuChoice) -> None:
        if not event.case_id:
            return
        if isinstance(event, MenuChoice) and event.choice == "technician":
            await desk.enqueue(event.case_id, "asked_for_technician")
        elif isinstance(event, CallbackEvent) and event.kind == "fallback":
            await desk.enqueue(event.case_id, f"call_{event.status.replace('-', '_')}")

    return then


def twilio_wiring(
    desk: Desk, engine: AsyncEngine, settings: TwilioSettings, public_base_url: str | None
) -> tuple[TwilioVoiceChannel, list[BaseRoute]]:
    """The voice channel for the desk and the signed callback routes (`/twilio/...`)."""
    if public_base_url:
        base = public_base_url.rstrip("/")
        settings = replace(settings, status_callback_url=f"{base}/twilio/status",
                           gather_action_url=f"{base}/twilio/gather")
    voice = TwilioVoiceChannel(settings)
    desk.call_channel = voice
    desk.phone_of = directory_phones(engine)
    callbacks = create_app(settings.auth_token, timeline_sink(desk.store, queue_on_callback(desk)),
                           public_base_url=public_base_url or None)
    return voice, list(callbacks.routes)
