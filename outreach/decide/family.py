"""The family directory's model: students and the guardians FirstCall may contact."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from outreach.decide.decision import FamilyPrefs
from outreach.decide.redact import mask_phone

PreferredChannel = Literal["call", "sms", "chat"]
CHANNELS: Final = ("call", "sms", "chat")
LANGUAGES: Final = ("zh-CN", "en")
DEFAULT_LANGUAGE: Final = "zh-CN"
DEFAULT_TIME_ZONE: Final = "Asia/Shanghai"
HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window (local time) with no calls; may wrap past midnight."""

    start: time
    end: time

    def contains(self, local: time) -> bool:
        """True when `local` falls inside the window."""
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class Guardian:
    """A grown-up FirstCall may contact about a student."""

    name: str
    phone: str | None
    relation: str
    preferred_channel: PreferredChannel
    language: str
    time_zone: str
    quiet_hours: QuietHours | None
    do_not_call: bool

    def is_quiet_at(self, at_ms: int) -> bool:
        """True when `at_ms` is inside this guardian's quiet hours (in their time zone)."""
        if self.quiet_hours is None:
            return False
        local = datetime.fromtimestamp(at_ms / 1000, ZoneInfo(self.time_zone)).time()
        return self.quiet_hours.contains(local)


@dataclass(frozen=True, slots=True)
class Student:
    """A student and their guardians (first one is the first to contact)."""

    student_id: str
    name: str
    language: str
    time_zone: str
    guardians: tuple[Guardian, ...]


def parse_quiet_hours(text: str) -> QuietHours | None:
    """`"21:00-08:00"` -> QuietHours; empty -> None; ValueError when malformed."""
    text = text.strip()
    if not text:
        return None
    start, sep, end = text.partition("-")
    a, b = HHMM.match(start.strip()), HHMM.match(end.strip())
    if not sep or a is None or b is None:
        raise ValueError(f"expected HH:MM-HH:MM, got {text!r}")
    return QuietHours(time(int(a[1]), int(a[2])), time(int(b[1]), int(b[2])))


def family_prefs(student: Student) -> FamilyPrefs:
    """What the outreach stages need to know, from the first guardian to contact.

    Do-not-call holds for the family when any guardian asked for it.
    """
    if not student.guardians:
        return FamilyPrefs(time_zone=student.time_zone)
    first = student.guardians[0]
    quiet = first.quiet_hours
    return FamilyPrefs(
        time_zone=first.time_zone,
        quiet_start=None if quiet is None else f"{quiet.start:%H:%M}",
        quiet_end=None if quiet is None else f"{quiet.end:%H:%M}",
        do_not_call=any(g.do_not_call for g in student.guardians),
        preferred_channel=first.preferred_channel,
    )


def describe(student: Student) -> dict[str, Any]:
    """A log-safe summary of a student (phone numbers masked)."""
    return {
        "student_id": student.student_id,
        "guardians": [
            {"relation": g.relation, "phone": mask_phone(g.phone), "channel": g.preferred_channel}
            for g in student.guardians
        ],
    }
