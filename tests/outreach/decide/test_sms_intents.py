# ruff: noqa: RUF001  (Chinese replies use full-width punctuation on purpose)
"""What a family's SMS reply means: digits, words and phrases in both script languages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach.decide.sms_intents import SMS_INTENTS, resubscribes, sms_intent

TABLE = [
    # call me back: the digit the SMS offers, yes, help, in English and Mandarin
    ("1", "callback_requested"),
    ("１", "callback_requested"),
    (" 1. ", "callback_requested"),
    ("1 please call", "callback_requested"),
    ("YES", "callback_requested"),
    ("yes!", "callback_requested"),
    ("Call me", "callback_requested"),
    ("help", "callback_requested"),
    ("Please help!!", "callback_requested"),
    ("帮忙", "callback_requested"),
    ("请打给我", "callback_requested"),
    ("是的", "callback_requested"),
    # solved
    ("2", "solved"),
    ("2!", "solved"),
    ("ok", "solved"),
    ("OK.", "solved"),
    ("fixed", "solved"),
    ("Fine", "solved"),
    ("thanks", "solved"),
    ("Thank you!", "solved"),
    ("it is fine now", "solved"),
    ("好了", "solved"),
    ("好了，谢谢！", "solved"),
    ("谢谢", "solved"),
    # a worry wins over "fine" and over "2": a person looking is the safe mistake
    ("not ok", "callback_requested"),
    ("thanks but still stuck", "callback_requested"),
    ("2 but still stuck", "callback_requested"),
    ("还是卡", "callback_requested"),
    ("不好了", "callback_requested"),
    # Twilio's opt-out and opt-in keywords, only as the whole message
    ("STOP", "opt_out"),
    (" stop. ", "opt_out"),
    ("Unsubscribe", "opt_out"),
    ("CANCEL", "opt_out"),
    ("end", "opt_out"),
    ("quit", "opt_out"),
    ("STOPALL", "opt_out"),
    ("退订", "opt_out"),
    ("TD", "opt_out"),
    ("START", "opt_in"),
    ("unstop", "opt_in"),
    # anything else: a person reads it
    ("stop calling me", "unclear"),
    ("who is this?", "unclear"),
    ("12", "unclear"),
    ("3", "unclear"),
    ("", "unclear"),
    ("   ", "unclear"),
    ("孩子今天生病了", "unclear"),
]


@pytest.mark.parametrize(("text", "intent"), TABLE)
def test_replies_mean_what_a_caregiver_means(text: str, intent: str) -> None:
    assert sms_intent(text) == intent


def test_start_unstop_and_yes_opt_back_in_as_twilio_takes_them() -> None:
    assert [resubscribes(t) for t in ("START", "unstop!", "Yes", "yes please", "1")] == [
        True, True, True, False, False,
    ]  # fmt: skip


@given(st.text())
def test_any_text_has_a_known_intent(text: str) -> None:
    assert sms_intent(text) in SMS_INTENTS
