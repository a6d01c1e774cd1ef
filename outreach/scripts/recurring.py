"""A recurring family case for the technician (pure): a diagnosis and a checklist, by device.

The diagnosis reads like "recurring on the family's side: line healthy, 4 episodes, 5.3
minutes lost, worst intervals 09:03:00-09:05:10 UTC (2m10s), ..."; the checklist is what
the technician walks the family through (Wi-Fi or cellular, closer to the router, other
apps closed, another device), worded for the family's device and connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

from outreach.decide.outcomes import spans_minutes_lost

WORST: Final = 3  # how many of the longest episodes the diagnosis names
_NOUN: Final[dict[str, str]] = {"phone": "phone", "ipad": "tablet", "android_pad": "tablet",
                                "pc": "computer", "mac": "computer"}  # fmt: skip
_MOBILE: Final = frozenset({"phone", "ipad", "android_pad"})


def _clock(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%H:%M:%S")


def _length(ms: int) -> str:
    minutes, seconds = divmod(max(0, ms) // 1000, 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def diagnosis(
    episodes: Sequence[tuple[int, int | None]], now: int, *, line_healthy: bool = True,
    lesson_end: int | None = None,
) -> str:
    """One line on a family's recurring problem: where, how often, how much, when worst."""
    spans = [(start, end if end is not None else max(start, now)) for start, end in episodes]
    side = "family's side: line healthy" if line_healthy else "family's side, line troubled too"
    lost = spans_minutes_lost(spans, lesson_end)
    worst = sorted(spans, key=lambda s: (s[0] - s[1], s[0]))[:WORST]
    named = ", ".join(f"{_clock(s)}-{_clock(e)} UTC ({_length(e - s)})" for s, e in worst)
    count = f"{len(spans)} episode" + ("" if len(spans) == 1 else "s")
    return f"recurring on the {side}, {count}, {lost} minutes lost, worst intervals {named}"


def technician_steps(device: str | None, conn: str | None) -> list[str]:
    """What the technician checks with the family, in order, for its device and connection."""
    dev = device if device in _NOUN else "pc"
    noun = _NOUN[dev]
    seen = conn if conn in ("wifi", "cellular", "wired") else "not known"
    steps = [f"Ask whether the {noun} is on Wi-Fi or on cellular data (telemetry: {seen})."]
    if conn == "cellular":
        steps.append(f"Move the {noun} to where the mobile signal is stronger, or join the "
                     "home Wi-Fi if there is one.")  # fmt: skip
    elif conn == "wired":
        steps.append(f"Check that the {noun}'s network cable is firmly plugged in at both ends.")
    else:
        steps.append(f"Move the {noun} closer to the Wi-Fi router (same room, no walls between).")
    if dev in _MOBILE:
        steps.append(f"Close the other apps on the {noun} (swipe them away), especially video.")
        steps.append("Switch device: a computer, on a cable if possible, for the rest of the "
                     "lesson.")  # fmt: skip
    else:
        steps.append("Close other programs and browser tabs that play video or download.")
        steps.append("Switch device or network (another computer, a phone hotspot) if it "
                     "keeps coming back.")  # fmt: skip
    return steps
