"""The satisfaction follow-up's rules (pure): when to ask, how to ask, what an answer means.

A case that reached the family (a contact attempt was made) gets one follow-up when it
closes: due `delay_ms` after the later of its closing and its lesson's end (never during
class), held while the family is in quiet hours or in class again, not sent to a
do-not-contact family, and at most one per family per local day. The family answers
with one digit 1-5 and, optionally, words; a score of `low_score` or below, or words
that complain, open a follow-up case for a person.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from outreach.decide.chat_intents import normalize

FollowupReason = Literal["low_score", "complaint"]
Skip = Literal["do_not_contact", "no_channel", "asked_today", "unanswered", "too_late"]
MAX_COMMENT: Final = 1_000  # characters of a comment kept
LATEST_MS: Final = 86_400_000  # a follow-up not sent a day after it was due is not sent
SCORE = re.compile(r"^\s*([1-5])(?![0-9])\s*(?:(?:/|of|分|星)\s*5?)?[\s.,:;!-]*(.*)$", re.S)
# Words that make a comment a complaint (folded: lower case, NFKC); a person reads it.
COMPLAINTS: Final = (
    "bad", "terrible", "awful", "worst", "poor", "angry", "upset", "disappointed",
    "complain", "complaint", "refund", "useless", "waste", "rude", "never works",
    "still", "not happy", "unhappy", "too slow", "lag", "lagging", "froze", "frozen",
    "差", "不好", "不满", "投诉", "退款", "退钱", "生气", "失望", "太慢", "又", "还是",
    "没用", "浪费", "糟糕", "态度",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class FollowupConfig:
    """How the follow-up is timed and read (defaults: `monitor.platform.settings`)."""

    delay_ms: int = 600_000  # after the lesson's end (or the case's closing, if later)
    answer_window_ms: int = 14 * 86_400_000  # a reply this late still attaches
    low_score: int = 3  # this score or lower opens a follow-up case


@dataclass(frozen=True, slots=True)
class Answer:
    """A family's answer: the score 1-5 (None: words only) and the comment."""

    score: int | None
    comment: str


@dataclass(frozen=True, slots=True)
class Send:
    """Ask now, on this channel."""

    channel: Literal["chat", "sms"]


@dataclass(frozen=True, slots=True)
class Hold:
    """Not now (quiet hours, in class): ask again at the next sweep."""

    reason: Literal["quiet_hours", "in_class", "not_due"]


@dataclass(frozen=True, slots=True)
class Suppress:
    """Never for this case (a named reason, counted)."""

    reason: Skip


@dataclass(frozen=True, slots=True)
class Family:
    """What the directory and the runtime say about the family, now."""

    do_not_contact: bool = False
    quiet: bool = False  # in the family's quiet hours now
    in_class: bool = False  # a case of the student is open (a lesson is on)
    app_open: bool = False  # the class app is connected to the chat gateway
    can_sms: bool = False  # a guardian with a phone, not opted out of SMS
    asked_today: bool = False  # a follow-up already went to this family today (local day)
    unanswered: bool = False  # an earlier follow-up still waits for its answer


def due_at(closed_at: int, lesson_end: int | None, cfg: FollowupConfig) -> int:
    """When the follow-up may go: `delay_ms` after the case closed or the lesson ended."""
    return max(closed_at, lesson_end if lesson_end is not None else closed_at) + cfg.delay_ms


def next_step(now: int, due: int, family: Family) -> Send | Hold | Suppress:
    """Ask now (on which channel), wait, or never: the order of the checks is the rule."""
    if family.do_not_contact:
        return Suppress("do_not_contact")
    if now < due:
        return Hold("not_due")
    if now > due + LATEST_MS:
        return Suppress("too_late")  # "how did we do today?" days later would confuse
    if family.unanswered:
        return Suppress("unanswered")  # a family who does not answer is not asked again
    if family.asked_today:
        return Suppress("asked_today")
    if family.in_class:
        return Hold("in_class")
    if family.app_open:
        return Send("chat")  # the chat is fine in quiet hours (no ring, no buzz)
    if family.quiet:
        return Hold("quiet_hours")
    if family.can_sms:
        return Send("sms")
    return Suppress("no_channel")


def local_day(at_ms: int, time_zone: str) -> str:
    """The family's calendar day (YYYY-MM-DD) at `at_ms` in its time zone."""
    try:
        tz = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    return datetime.fromtimestamp(at_ms / 1000, UTC).astimezone(tz).date().isoformat()


def read_answer(text: str) -> Answer:
    """A reply as a score and a comment: "2", "2 the sound kept cutting", "4/5", or words."""
    flat = " ".join(unicodedata.normalize("NFKC", text).split())
    match = SCORE.match(flat)
    if match is None:
        return Answer(None, flat[:MAX_COMMENT])
    return Answer(int(match.group(1)), match.group(2).strip()[:MAX_COMMENT])


def complains(comment: str) -> bool:
    """True when the comment's words complain (a person should read it)."""
    folded = normalize(comment)
    return any(f" {w} " in folded if w.isascii() else w in folded for w in COMPLAINTS)


def needs_person(answer: Answer, cfg: FollowupConfig) -> FollowupReason | None:
    """Why a person follows this answer up (a low score first), or None."""
    if answer.score is not None and answer.score <= cfg.low_score:
        return "low_score"
    if answer.comment and complains(answer.comment):
        return "complaint"
    return None


def takes_reply(answer: Answer, asks_for_help: bool) -> bool:
    """True when a family's message answers the follow-up (a score, or words not asking help)."""
    if answer.score is not None:
        return True
    return bool(answer.comment) and not asks_for_help
