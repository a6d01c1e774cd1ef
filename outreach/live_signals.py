"""What the family's side did, as fallback signals: Twilio callbacks, menu keys, chat replies."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from outreach.channels.twilio_callbacks import CallbackEvent, MenuChoice
from outreach.chat.intents import Intent
from outreach.stages.retry_fallback import Signal

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
    """A chat reply's signal: `好了` -> fine, `帮忙` -> help, anything else -> None."""
    return {"resolved": "fine", "needs_help": "help"}.get(intent)  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Letter:
    """A signal for a case; `message_id` None fits any attempt (a chat reply, the close)."""

    message_id: str | None
    signal: Signal | None  # None: the incident closed


@dataclass
class Mailbox:
    """Signals waiting for each case's contact chain."""

    boxes: dict[str, asyncio.Queue[Letter]] = field(default_factory=dict)

    def open(self, case_id: str) -> None:
        """Start collecting signals for a case."""
        self.boxes.setdefault(case_id, asyncio.Queue())

    def close(self, case_id: str) -> None:
        """Stop collecting signals for a case."""
        self.boxes.pop(case_id, None)

    def post(self, case_id: str, letter: Letter) -> bool:
        """Deliver a letter; False when no chain listens for this case."""
        box = self.boxes.get(case_id)
        if box is None:
            return False
        box.put_nowait(letter)
        return True

    async def next(self, case_id: str, message_id: str, timeout_s: float) -> Letter | None:
        """The next letter for this attempt (stale ones dropped), or None after `timeout_s`."""
        box = self.boxes.setdefault(case_id, asyncio.Queue())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            left = deadline - loop.time()
            if left <= 0:
                return None
            try:
                letter = await asyncio.wait_for(box.get(), left)
            except TimeoutError:
                return None
            if letter.message_id in (None, message_id):
                return letter
