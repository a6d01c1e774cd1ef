"""What a family's SMS reply means (pure): call me, it is solved, stop texting, or unclear.

Tolerant on purpose: case, full-width characters, spaces and punctuation do not
matter; digits (the SMS says 1 / 2), words and the chat phrases of both script
languages (zh-CN, en) are understood. Opt-out and opt-in follow Twilio's standard
keywords, which only count when they are the whole message (as Twilio counts them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

from outreach.decide.chat_intents import intent_of, normalize
from outreach.decide.stages.retry_fallback import Signal

SmsIntent = Literal["callback_requested", "solved", "opt_out", "opt_in", "unclear"]
SMS_INTENTS: Final[tuple[SmsIntent, ...]] = get_args(SmsIntent)

# Twilio's standard opt-out / opt-in keywords (plus the Chinese "退订" / "TD" convention).
OPT_OUT: Final = frozenset(
    {"stop", "stopall", "stop all", "unsubscribe", "cancel", "end", "quit", "optout",
     "opt out", "revoke", "退订", "td"}
)  # fmt: skip
OPT_IN: Final = frozenset({"start", "unstop"})
# Twilio also takes YES as opting in again (YES here asks for a call, and re-subscribes).
RESUBSCRIBE: Final = OPT_IN | {"yes"}
DIGITS: Final[dict[str, SmsIntent]] = {"1": "callback_requested", "2": "solved"}
CALL_ME: Final = frozenset(
    {"yes", "y", "yes please", "call", "call me", "please call", "please call me", "callback",
     "call back", "是", "是的", "要", "需要", "回电", "请回电", "打给我", "请打给我"}
)  # fmt: skip
SIGNAL: Final[dict[str, Signal]] = {
    "callback_requested": "help", "solved": "fine", "unclear": "unclear",
}  # fmt: skip
SOLVED: Final = frozenset(
    {"thanks", "thank you", "thank you very much", "thx", "ty", "solved", "good", "great",
     "谢谢", "多谢", "谢谢你", "谢谢您", "好", "好的", "行", "不用了"}
)  # fmt: skip


def words(text: str) -> str:
    """The reply folded for matching: lower case, NFKC, punctuation gone, single spaces."""
    return normalize(text).strip()


def resubscribes(text: str) -> bool:
    """True when Twilio would take this message as opting back in to SMS."""
    return words(text) in RESUBSCRIBE


def sms_intent(text: str) -> SmsIntent:
    """The intent of one SMS reply; anything not understood is `unclear` (a person reads it)."""
    folded = words(text)
    if folded in OPT_OUT:
        return "opt_out"
    if folded in OPT_IN:
        return "opt_in"
    # Help wins over "fine" and over "2" (e.g. "not fine", 不好了, "2 but still stuck").
    chat = intent_of(text)
    if chat == "needs_help":
        return "callback_requested"
    first = folded.split(" ", 1)[0]
    if first in DIGITS:
        return DIGITS[first]
    if chat == "resolved":
        return "solved"
    if folded in CALL_ME:
        return "callback_requested"
    if folded in SOLVED:
        return "solved"
    return "unclear"


def sms_signal(intent: str) -> Signal | None:
    """The contact chain's signal of a reply: help, fine, unclear (None: STOP / START)."""
    return SIGNAL.get(intent)


@dataclass(frozen=True, slots=True)
class InboundSms:
    """One SMS a family sent to our number."""

    from_number: str
    to_number: str
    body: str
    message_sid: str
    sent_at_ms: int | None = None  # the message's own time when known (else: its arrival)
