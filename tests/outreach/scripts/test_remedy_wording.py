"""The words that offer the lighter picture, in both languages."""

from __future__ import annotations

from outreach.scripts.remedy_wording import REMEDY_BUTTON, remedy_message_text


def test_the_offer_names_the_button_and_keeps_the_reply_hint() -> None:
    zh = remedy_message_text("lag", "pc", "zh-CN")
    en = remedy_message_text("lag", "ipad", "en")
    assert REMEDY_BUTTON["zh-CN"] in zh and "好了" in zh and "帮忙" in zh
    assert REMEDY_BUTTON["en"] in en and "it is fine now" in en and "tablet" in en


def test_an_unknown_language_gets_the_default_mandarin() -> None:
    assert REMEDY_BUTTON["zh-CN"] in remedy_message_text("lag", "pc", "fr-FR")
