"""Where a contact chain stood when its runner stopped (pure, from the case timeline)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from detectors.records import Outreach
from outreach.decide.case import CaseEvent
from outreach.decide.decision import ChannelName
from outreach.decide.signals import (
    CallbackEvent,
    CallbackKind,
    MenuChoice,
    callback_signal,
    reply_signal,
)
from outreach.decide.sms_intents import sms_signal
from outreach.decide.stages.retry_fallback import Signal

CALLBACK_KINDS: dict[str, tuple[str, CallbackKind]] = {
    f"{channel}_{kind}": (channel, kind)
    for channel in ("call", "sms")
    for kind in ("fallback", "attempt_outcome")
}


@dataclass(frozen=True, slots=True)
class Waiting:
    """The chain was waiting after a send; `signal` is what has arrived since (if anything)."""

    channel: ChannelName
    message_id: str
    signal: Signal | None


@dataclass(frozen=True, slots=True)
class Next:
    """The chain had decided its next step but not taken it yet."""

    step: str


def decision_of(events: Sequence[CaseEvent], incident_id: str) -> Outreach | None:
    """The recorded decision about `incident_id`, as the policy made it."""
    for e in events:
        d = e.data
        if e.kind == "decision" and d.get("incident_id") == incident_id:
            return Outreach(
                d["incident_id"], d["case_id"], d["session_id"], d["student_id"],
                d["action"], d["reason"], d["decided_at"], {"stage": d.get("stage", "")},
            )  # fmt: skip
    return None


def _signal(e: CaseEvent, message_id: str) -> Signal | None:
    d: dict[str, Any] = e.data
    if e.kind == "chat_reply":
        return reply_signal(d.get("intent", "unknown"))
    if e.kind == "sms_reply":
        return sms_signal(str(d.get("intent", "")))
    if d.get("message_id") != message_id:
        return None
    if e.kind == "menu_choice":
        choice = MenuChoice(d.get("choice", "none"), "", "", e.case_id, message_id)
        return callback_signal(choice)
    if e.kind in CALLBACK_KINDS:
        channel, kind = CALLBACK_KINDS[e.kind]
        detail = {k: str(v) for k, v in d.items() if k[:1].isupper()}
        event = CallbackEvent(
            kind,
            channel,
            str(d.get("status", "")),
            "",
            e.case_id,
            message_id,
            detail,
        )
        return callback_signal(event)
    return None


def resume_point(events: Sequence[CaseEvent]) -> Waiting | Next | None:
    """Where to carry on: waiting on the last send, or the step decided after it (None: done)."""
    last_send = max((i for i, e in enumerate(events) if e.kind == "sending"), default=None)
    if last_send is None:
        return None
    sent = events[last_send].data
    after = events[last_send + 1 :]
    steps = [e for e in after if e.kind == "fallback"]
    if steps:
        step = str(steps[-1].data.get("step"))
        return Next(step) if step in ("call", "sms", "agent_queue") else None
    message_id = str(sent.get("message_id"))
    signal = next((s for e in after if (s := _signal(e, message_id)) is not None), None)
    return Waiting(sent["channel"], message_id, signal)
