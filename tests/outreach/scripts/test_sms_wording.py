"""What our SMS says: one digit per answer, the opt-out line, and never more than 3 segments."""

from __future__ import annotations

import itertools

import pytest

from outreach.decide.chat_intents import intent_of
from outreach.decide.sms_intents import sms_intent
from outreach.scripts.sms_segments import Segments, segments
from outreach.scripts.wording import (
    SMS_CHOICE,
    SMS_DIGITS,
    SMS_OPT_OUT,
    SMS_STOP_WORD,
    message_text,
    sms_text,
)

FAULTS = ("lag", "disconnect", "flapping", "line")
DEVICES = ("pc", "mac", "ipad", "android_pad", "phone")
LANGUAGES = ("zh-CN", "en")
EVERY_SMS = list(itertools.product(FAULTS, DEVICES, LANGUAGES))
REPLY = {"zh-CN": "回复{}", "en": "Reply {}"}


# -- segments, as carriers count them ------------------------------------------------


def test_a_gsm7_text_takes_one_segment_up_to_160_characters_then_153_per_part() -> None:
    assert segments("").parts == 1
    assert segments("a" * 160) == Segments("GSM-7", 160, 1)
    assert segments("a" * 161).parts == 2
    assert segments("a" * 306).parts == 2
    assert segments("a" * 307).parts == 3
    assert segments("a" * 459).parts == 3
    assert segments("a" * 460).parts == 4


def test_gsm7_extension_characters_cost_two_septets_and_are_never_split() -> None:
    assert segments("€" * 80) == Segments("GSM-7", 160, 1)
    assert segments("€" * 81).parts == 2
    # 152 septets, then an escape + character that does not fit in the first part's 153.
    assert segments("a" * 152 + "€" + "a" * 152).parts == 3
    assert segments("a" * 151 + "€" + "a" * 153).parts == 2


def test_one_character_outside_gsm7_makes_the_whole_text_ucs2_at_70_then_67() -> None:
    assert segments("a" * 69 + "你").encoding == "UCS-2"
    assert segments("你" * 70).parts == 1
    assert segments("你" * 71).parts == 2
    assert segments("你" * 134).parts == 2
    assert segments("你" * 135).parts == 3
    assert segments("“quoted”" * 10).encoding == "UCS-2"  # curly quotes are not GSM-7


def test_a_character_outside_the_bmp_is_two_code_units_kept_together() -> None:
    assert segments("🙂" * 35) == Segments("UCS-2", 70, 1)
    assert segments("a" * 66 + "🙂" + "a" * 67).parts == 3  # the pair moves to part 2


# -- the words ------------------------------------------------------------------------


@pytest.mark.parametrize(("fault", "device", "language"), EVERY_SMS)
def test_every_sms_fits_in_three_segments(fault: str, device: str, language: str) -> None:
    for conn in ("unknown", "wifi", "wired", "cellular"):
        text = sms_text(fault, device, language, conn)  # type: ignore[arg-type]
        assert segments(text).parts <= 3, (segments(text), text)
        if language == "en":
            assert segments(text).encoding == "GSM-7"  # no stray character doubling its cost


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("digit", "promised"), sorted(SMS_DIGITS.items()))
def test_each_digit_the_sms_offers_means_what_the_sms_promises(
    digit: str, promised: str, language: str
) -> None:
    line = SMS_CHOICE[language][digit]  # type: ignore[index]
    assert REPLY[language].format(digit) in line
    for fault, device in itertools.product(("lag", "disconnect", "flapping"), DEVICES):
        assert line in sms_text(fault, device, language)  # type: ignore[arg-type]
    assert sms_intent(digit) == promised
    assert sms_intent(f" {digit}. ") == promised


def test_the_digits_promise_a_call_and_that_it_works_again() -> None:
    assert SMS_DIGITS == {"1": "callback_requested", "2": "solved"}
    assert "technician will call you" in SMS_CHOICE["en"]["1"]
    assert "works again" in SMS_CHOICE["en"]["2"]
    assert "打电话" in SMS_CHOICE["zh-CN"]["1"] and "好了" in SMS_CHOICE["zh-CN"]["2"]


@pytest.mark.parametrize(("fault", "device", "language"), EVERY_SMS)
def test_every_sms_ends_with_the_opt_out_line_and_its_word_opts_out(
    fault: str, device: str, language: str
) -> None:
    text = sms_text(fault, device, language)  # type: ignore[arg-type]
    assert text.endswith(SMS_OPT_OUT[language])  # type: ignore[index]
    word = SMS_STOP_WORD[language]  # type: ignore[index]
    assert word in SMS_OPT_OUT[language]  # type: ignore[index]
    assert sms_intent(word) == "opt_out"


def test_the_opt_out_lines_are_the_standard_ones() -> None:
    assert SMS_OPT_OUT == {"en": "Reply STOP to stop these messages.", "zh-CN": "回复TD退订"}


def test_a_line_incident_sms_offers_no_digits_there_is_nothing_to_answer() -> None:
    for language in LANGUAGES:
        text = sms_text("line", "pc", language)
        assert all(REPLY[language].format(d) not in text for d in SMS_DIGITS)


def test_the_chat_keeps_its_words_the_chat_parser_does_not_read_digits() -> None:
    chat = message_text("lag", "pc", "en")
    assert "Reply 1" not in chat and "STOP" not in chat
    assert "please help" in chat and "it is fine now" in chat
    assert intent_of("please help") == "needs_help" and intent_of("it is fine now") == "resolved"
    assert intent_of("1") == "unknown"
    assert "帮忙" in message_text("lag") and "回复1" not in message_text("lag")
