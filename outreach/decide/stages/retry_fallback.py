"""Retry/fallback (pure): after each attempt, what next — wait, call, SMS, agent queue or done.

The chain is chat unanswered -> call -> SMS -> agent queue. Provider retries with
backoff and jitter happen inside the Twilio sender; this stage only decides the
next channel from what the family's side did (or did not do), with a named reason.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, Literal, get_args

from outreach.decide.decision import DO_NOT_CONTACT, QUIET_HOURS, RATE_LIMITED, SMS_OPTED_OUT

Channel = Literal["chat", "call", "sms"]
# What happened after a send: `delivered` (accepted or shown, no answer yet), `fine` and
# `help` (the family's answer), `unclear` (an answer a person must read), `answered` (a
# person heard the call), `timeout` (nothing within the wait), a call's end without anyone
# (`no_answer`, `busy`, `canceled`, `machine`, `failed`), an SMS that did not arrive
# (`undelivered`), or `send_failed` (never sent). After the family took the one-tap fix
# (`remedy`), the chain waits the remedy window: the problem ended (`remedy_worked`) or
# did not (`remedy_failed`).
Signal = Literal[
    "delivered",
    "fine",
    "help",
    "unclear",
    "answered",
    "timeout",
    "no_answer",
    "busy",
    "canceled",
    "machine",
    "failed",
    "undelivered",
    "send_failed",
    "remedy",
    "remedy_worked",
    "remedy_failed",
]
StepAction = Literal["wait", "call", "sms", "agent_queue", "done"]

SIGNALS: Final[tuple[Signal, ...]] = get_args(Signal)

# Named reasons of the steps (labels of the fallback metric).
FAMILY_SAYS_FINE: Final = "family_says_fine"
FAMILY_ASKED_FOR_HELP: Final = "family_asked_for_help"
FAMILY_REPLY_UNCLEAR: Final = "family_reply_unclear"
FAMILY_REACHED_BY_CALL: Final = "family_reached_by_call"
WAITING_FOR_ANSWER: Final = "waiting_for_answer"
CHAT_UNANSWERED: Final = "chat_unanswered"
SMS_UNANSWERED: Final = "sms_unanswered"
SMS_FAILED: Final = "sms_failed"
NOTICE_ONLY: Final = "notice_only"
INCIDENT_CLOSED: Final = "incident_closed"
NO_PHONE: Final = "no_reachable_phone"
REMEDY_APPLIED: Final = "remedy_applied"  # waiting to see if the lighter picture helps
REMEDY_WORKED: Final = "recovered_after_remedy"
REMEDY_DID_NOT_HELP: Final = "remedy_did_not_help"


@dataclass(frozen=True, slots=True)
class Reach:
    """What limits the next phone contact: the family's wishes, the hour, the call budget."""

    do_not_call: bool = False
    has_phone: bool = True
    quiet_hours: bool = False
    calls_left: int = 1
    notice_only: bool = False  # a line incident: the in-app notice is all we send
    incident_closed: bool = False
    sms_opted_out: bool = False  # the family answered STOP: a person calls instead of an SMS


@dataclass(frozen=True, slots=True)
class Step:
    """The next step and why."""

    action: StepAction
    reason: str


def _phone_block(reach: Reach, *, counts_as_call: bool) -> str | None:
    """The named reason no phone contact may be made now, or None."""
    if reach.do_not_call:
        return DO_NOT_CONTACT
    if not reach.has_phone:
        return NO_PHONE
    if reach.quiet_hours:
        return QUIET_HOURS
    if counts_as_call and reach.calls_left <= 0:
        return RATE_LIMITED
    return None


def _to_phone(action: Literal["call", "sms"], reason: str, reach: Reach) -> Step:
    blocked = _phone_block(reach, counts_as_call=action == "call")
    if blocked:
        return Step("done", blocked)
    if action == "sms" and reach.sms_opted_out:
        return Step("agent_queue", SMS_OPTED_OUT)
    return Step(action, reason)


def next_step(channel: Channel, signal: Signal, reach: Reach) -> Step:
    """The step after `signal` on `channel` (chat -> call -> SMS -> agent queue)."""
    if signal == "fine":
        return Step("done", FAMILY_SAYS_FINE)
    if signal == "help":
        return Step("agent_queue", FAMILY_ASKED_FOR_HELP)
    if signal == "unclear":
        return Step("agent_queue", FAMILY_REPLY_UNCLEAR)
    if signal == "remedy_worked":
        return Step("done", REMEDY_WORKED)
    if reach.incident_closed:
        return Step("done", INCIDENT_CLOSED)
    if reach.notice_only:
        return Step("done", NOTICE_ONLY)
    if signal == "remedy":
        return Step("wait", REMEDY_APPLIED)
    if signal == "remedy_failed":
        return _to_phone("call", REMEDY_DID_NOT_HELP, reach)
    if signal == "delivered":
        return Step("wait", WAITING_FOR_ANSWER)
    if channel == "chat":
        return _to_phone("call", CHAT_UNANSWERED, reach)
    if channel == "call":
        if signal == "answered":
            return Step("done", FAMILY_REACHED_BY_CALL)
        return _to_phone("sms", f"call_{signal}", reach)
    if signal == "timeout":
        return Step("agent_queue", SMS_UNANSWERED)
    return Step("agent_queue", SMS_FAILED)


def limits_matter(channel: Channel, signal: Signal, reach: Reach) -> bool:
    """Would the family's phone limits change the step after `signal`? (Only a step to a
    call or an SMS reads them: the step is the same with none and with every limit.)"""
    blocked = replace(reach, do_not_call=True, has_phone=False, quiet_hours=True, calls_left=0,
                      sms_opted_out=True)
    free = replace(reach, do_not_call=False, has_phone=True, quiet_hours=False, calls_left=1,
                   sms_opted_out=False)
    return next_step(channel, signal, blocked) != next_step(channel, signal, free)
