"""What the family's side did (Twilio status callbacks, menu keys, chat replies) as signals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

from outreach.decide.chat_intents import Intent
from outreach.decide.stages.retry_fallback import Signal

CallbackKind = Literal["fallback", "attempt_outcome", "progress"]
MenuChoiceName = Literal["technician", "call_back", "none"]
FALLBACK: Final[dict[str, frozenset[str]]] = {
    "call": frozenset({"no-answer", "busy", "failed", "canceled"}),
    "sms": frozenset({"failed", "undelivered", "canceled"}),
}
FINAL_OK: Final[dict[str, frozenset[str]]] = {
    "call": frozenset({"completed"}),
    "sms": frozenset({"delivered", "read"}),
}


def classify(channel: str, status: str, answered_by: str = "") -> CallbackKind:
    """no-answer/busy/failed/canceled -> fallback; completed (delivered) -> attempt outcome.

    A call answered by a machine (answering machine detection on) counts as not answered.
    """
    if status in FALLBACK.get(channel, frozenset()):
        return "fallback"
    if channel == "call" and answered_by.startswith(("machine", "fax")):
        return "fallback"
    if status in FINAL_OK.get(channel, frozenset()):
        return "attempt_outcome"
    return "progress"


def menu_choice(digits: str) -> MenuChoiceName:
    """The caller's key press: 1 = a technician now, 2 = call back later."""
    return {"1": "technician", "2": "call_back"}.get(digits.strip(), "none")  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class CallbackEvent:
    """A call or message status report from Twilio, tied to its case and attempt."""

    kind: CallbackKind
    channel: str
    status: str
    provider_id: str
    case_id: str
    message_id: str
    detail: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MenuChoice:
    """What the person on the phone pressed."""

    choice: MenuChoiceName
    digits: str
    provider_id: str
    case_id: str
    message_id: str


_CALL_MISSED: dict[str, Signal] = {
    "no-answer": "no_answer",
    "busy": "busy",
    "failed": "failed",
    "canceled": "canceled",
}


def callback_signal(event: CallbackEvent | MenuChoice) -> Signal | None:
    """The signal of a status callback or menu key (None: progress, nothing to decide)."""
    if isinstance(event, MenuChoice):
        return "help" if event.choice in ("technician", "call_back") else None
    if event.kind == "progress":
        return None
    if event.channel == "sms":
        return "delivered" if event.kind == "attempt_outcome" else "undelivered"
    if event.kind == "attempt_outcome":
        return "answered"
    if event.detail.get("AnsweredBy", "").startswith(("machine", "fax")):
        return "machine"
    return _CALL_MISSED.get(event.status, "failed")


def reply_signal(intent: Intent) -> Signal | None:
    """A chat reply's signal: `好了` -> fine, `帮忙` -> help, the one-tap fix -> remedy."""
    signals: dict[str, Signal] = {"resolved": "fine", "needs_help": "help",
                                  "remedy_applied": "remedy"}
    return signals.get(intent)
