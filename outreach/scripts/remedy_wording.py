# ruff: noqa: RUF001  (Chinese text uses full-width punctuation on purpose)
"""The words of the one-tap fix (pure): the chat message that offers a lighter picture."""

from __future__ import annotations

from typing import Final

from outreach.scripts.wording import (
    DEFAULT_LANGUAGE,
    Fault,
    Language,
    language_of,
    message_text,
)

# The button the family's app shows; the same words are the reply the SDK sends.
REMEDY_BUTTON: Final[dict[Language, str]] = {
    "zh-CN": "切换到流畅画面",
    "en": "Switch to a lighter picture",
}
REMEDY_OFFER: Final[dict[Language, str]] = {
    "zh-CN": (
        "孩子家里的网络现在有点吃力。点一下“切换到流畅画面”，"
        "画面会清晰度低一些，但上课会更流畅。"
    ),
    "en": (
        "Your home connection is struggling right now. Tap \"Switch to a lighter picture\": "
        "the picture gets a little less sharp, and the class runs more smoothly."
    ),
}


def remedy_message_text(fault: Fault, device: str = "pc", language: str = DEFAULT_LANGUAGE,
                        conn: str = "unknown") -> str:
    """The chat wording with the offer of a lighter picture before how to reply in words."""
    lang = language_of(language)
    sep = "" if lang == "zh-CN" else " "
    return REMEDY_OFFER[lang] + sep + message_text(fault, device, lang, conn)
