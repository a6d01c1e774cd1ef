"""What the family's side did, as fallback signals: Twilio callbacks, menu keys, chat replies."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from outreach.decide.stages.retry_fallback import Signal


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
