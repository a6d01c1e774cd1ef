# ruff: noqa: RUF001  (Chinese text uses full-width punctuation on purpose)
"""What a family waiting for a technician hears: the wait, the call back promised, the hand-over."""

from __future__ import annotations

from typing import Final

from outreach.scripts.wording import Language, language_of

AHEAD: Final[dict[Language, tuple[str, str, str]]] = {  # nobody, one, more ahead
    "zh-CN": ("您是下一位。", "您前面还有1位。", "您前面还有{ahead}位。"),
    "en": ("You are next.", "There is 1 caller ahead of you.",
           "There are {ahead} callers ahead of you."),
}
WAIT: Final[dict[Language, str]] = {
    "zh-CN": "{ahead}如果{wait}分钟内没有技术人员接听，我们会在{promise}分钟内给您回电。",
    "en": "{ahead} If no technician is free within {wait} minutes, "
          "we will call you back within {promise} minutes.",
}
PROMISE: Final[dict[Language, str]] = {
    "zh-CN": "抱歉让您久等了。技术人员会在{promise}分钟内给您回电。再见。",
    "en": "Sorry to keep you waiting. A technician will call you back within {promise} minutes. "
          "Goodbye.",
}
HAND_OVER: Final[dict[Language, str]] = {
    "zh-CN": "技术人员来了，正在为您接通。",
    "en": "A technician is here. Putting you through now.",
}


def wait_text(language: str, position: int, wait_s: int, promise_min: int) -> str:
    """The announcement while waiting: callers ahead, the longest wait, the promise after it."""
    lang = language_of(language)
    ahead = max(0, position - 1)
    said = AHEAD[lang][min(ahead, 2)].format(ahead=ahead)
    minutes = max(1, round(wait_s / 60))
    return WAIT[lang].format(ahead=said, wait=minutes, promise=promise_min)


def promise_text(language: str, promise_min: int) -> str:
    """Said when the wait ran out (or the technician's phone did not answer)."""
    return PROMISE[language_of(language)].format(promise=promise_min)


def hand_over_text(language: str) -> str:
    """Said as the technician who claimed the case is dialled."""
    return HAND_OVER[language_of(language)]
