# ruff: noqa: RUF001  (Chinese text uses full-width punctuation on purpose)
"""What the satisfaction follow-up says (pure): the question and the thanks, by language.

Mandarin (zh-CN) is the default, English (en) is available. The question asks for one
digit 1-5 (the reply parser, `outreach.decide.followup.read_answer`, reads it) and
invites a comment; the SMS carries the opt-out line carriers expect.
"""

from __future__ import annotations

from typing import Final, Literal

from outreach.scripts.wording import SMS_OPT_OUT, Language, language_of

QUESTION: Final[dict[Language, str]] = {
    "zh-CN": "您好，这里是孩子网课的技术支持。今天我们的帮助怎么样？请回复1到5分"
             "（5分最满意），也欢迎留言告诉我们。",
    "en": "Hello from your child's online class support. How did we do today? "
          "Reply 1-5 (5 is best), and add a comment if you like.",
}
THANKS: Final[dict[Language, str]] = {
    "zh-CN": "谢谢您的评分！",
    "en": "Thank you for your score!",
}
SORRY: Final[dict[Language, str]] = {
    "zh-CN": "谢谢您告诉我们，很抱歉这次没有做好。帮助过您的技术人员会尽快联系您。",
    "en": "Thank you for telling us, and we are sorry it was not better. "
          "The technician who helped you will get in touch soon.",
}


def followup_text(language: str, channel: Literal["chat", "sms"]) -> str:
    """The question in the family's language (the SMS with its opt-out line)."""
    lang = language_of(language)
    if channel == "chat":
        return QUESTION[lang]
    return QUESTION[lang] + ("" if lang == "zh-CN" else " ") + SMS_OPT_OUT[lang]


def thanks_text(language: str, followed_up: bool) -> str:
    """Our answer to the family's score: thanks, or sorry and who will call."""
    lang = language_of(language)
    return SORRY[lang] if followed_up else THANKS[lang]
