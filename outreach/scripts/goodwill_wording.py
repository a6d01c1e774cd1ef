# ruff: noqa: RUF001  (Chinese text uses full-width punctuation on purpose)
"""What the family reads when a goodwill offer is confirmed, in Mandarin or English."""

from __future__ import annotations

from typing import Final

WORDS: Final[dict[str, dict[str, str]]] = {
    "makeup": {
        "zh": "很抱歉今天的课程因技术问题中断。我们将为孩子安排一节补课，"
              "学校会联系您确认时间。",
        "en": "We are sorry today's lesson was cut short by a technical problem. We will "
              "give your child a make-up lesson; the school will contact you about the time.",
    },
    "credit": {
        "zh": "很抱歉今天的课程因技术问题中断。我们已为您的账户补偿一节课时。",
        "en": "We are sorry today's lesson was cut short by a technical problem. We have "
              "credited one lesson to your account.",
    },
}


def goodwill_text(kind: str, language: str) -> str:
    """The family's message for an offer of `kind`, English if `language` is English."""
    words = WORDS["credit" if kind == "credit" else "makeup"]
    return words["en" if language.lower().startswith("en") else "zh"]
