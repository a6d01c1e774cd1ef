"""How many SMS segments a text costs (pure): GSM-7 when every character fits, else UCS-2.

A single SMS carries 160 GSM-7 septets or 70 UCS-2 code units. A longer text is sent
as a concatenated message whose parts lose room to the concatenation header: 153
septets or 67 code units each. A character is never split between two parts: a GSM-7
extension character (its escape and itself, 2 septets) or a UTF-16 surrogate pair
(2 code units) moves whole to the next part, as carriers and Twilio split them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Encoding = Literal["GSM-7", "UCS-2"]

# GSM 03.38 basic character set (one septet each).
GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# GSM 03.38 extension table (escape + character: two septets each).
GSM7_EXTENSION: Final = frozenset("^{}\\[~]|€\f")
SINGLE: Final[dict[Encoding, int]] = {"GSM-7": 160, "UCS-2": 70}
PER_PART: Final[dict[Encoding, int]] = {"GSM-7": 153, "UCS-2": 67}


@dataclass(frozen=True, slots=True)
class Segments:
    """The encoding a text goes out in, its length in units, and how many parts it takes."""

    encoding: Encoding
    units: int
    parts: int


def encoding_of(text: str) -> Encoding:
    """GSM-7 when every character is in the GSM 03.38 tables, else UCS-2."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        return "GSM-7"
    return "UCS-2"


def _cost(ch: str, encoding: Encoding) -> int:
    if encoding == "GSM-7":
        return 2 if ch in GSM7_EXTENSION else 1
    return 2 if ord(ch) > 0xFFFF else 1  # outside the BMP: a surrogate pair


def segments(text: str) -> Segments:
    """The segments `text` takes as one SMS (an empty text still takes one)."""
    encoding = encoding_of(text)
    costs = [_cost(ch, encoding) for ch in text]
    units = sum(costs)
    if units <= SINGLE[encoding]:
        return Segments(encoding, units, 1)
    room, parts, used = PER_PART[encoding], 1, 0
    for cost in costs:
        if used + cost > room:
            parts, used = parts + 1, 0
        used += cost
    return Segments(encoding, units, parts)
