# ruff: noqa: RUF001  (Chinese phrases use full-width punctuation on purpose)
"""What a family's chat reply means (pure): it works again, they want help, or unclear."""

from __future__ import annotations

import re
import unicodedata
from typing import Final, Literal

# `remedy_applied` is never read from words: the SDK says it after the one-tap fix.
Intent = Literal["resolved", "needs_help", "unknown", "remedy_applied"]

# Help wins over "fine" (e.g. 不好了, "not fine"): a human looking is the safe mistake.
HELP: Final = (
    "帮忙",
    "帮帮",
    "帮助",
    "救命",
    "人工",
    "技术员",
    "技术人员",
    "客服",
    "打电话",
    "不好",
    "没好",
    "还没",
    "不行",
    "还是卡",
    "还卡",
    "又卡",
    "又断",
    "不能",
    "不了",
    "help",
    "call me",
    "technician",
    "not fine",
    "not ok",
    "not okay",
    "not working",
    "doesnt work",
    "does not work",
    "still",
    "broken",
    "stuck",
)
POLITE: Final = ("不好意思",)  # "excuse me": not a complaint
RESOLVED: Final = (
    "好了",
    "没事",
    "没问题",
    "可以了",
    "正常了",
    "恢复了",
    "解决了",
    "能上了",
    "好的谢谢",
    "fine",
    "ok",
    "okay",
    "works",
    "working",
    "all good",
    "fixed",
    "resolved",
    "back now",
)
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def normalize(text: str) -> str:
    """Lower case, full-width folded (NFKC), punctuation and runs of space made one space."""
    folded = unicodedata.normalize("NFKC", text).lower().replace("'", "").replace("’", "")
    for phrase in POLITE:
        folded = folded.replace(phrase, " ")
    return " " + _PUNCT.sub(" ", folded).strip() + " "


def _has(text: str, phrase: str) -> bool:
    if phrase.isascii():
        return f" {phrase} " in text
    return phrase in text


def intent_of(text: str) -> Intent:
    """`好了` / "it is fine now" -> resolved; `帮忙` / "please help" -> needs_help."""
    norm = normalize(text)
    if any(_has(norm, p) for p in HELP):
        return "needs_help"
    if any(_has(norm, p) for p in RESOLVED):
        return "resolved"
    return "unknown"
