# ruff: noqa: RUF001  (Chinese text uses full-width punctuation on purpose)
"""What a caller waiting for a technician hears, in both languages."""

from __future__ import annotations

from outreach.scripts.queue_wording import hand_over_text, promise_text, wait_text


def test_the_wait_names_the_callers_ahead_the_longest_wait_and_the_promise() -> None:
    assert wait_text("en", 1, 120, 15) == (
        "You are next. If no technician is free within 2 minutes, "
        "we will call you back within 15 minutes.")
    assert wait_text("en", 4, 90, 20).startswith("There are 3 callers ahead of you.")
    assert wait_text("zh-CN", 2, 120, 15) == (
        "您前面还有1位。如果2分钟内没有技术人员接听，我们会在15分钟内给您回电。")
    assert wait_text("zh", 0, 30, 15).startswith("您是下一位。")  # 30 s says one minute
    assert "1分钟" in wait_text("zh", 0, 30, 15)


def test_promise_and_hand_over() -> None:
    assert "within 15 minutes" in promise_text("en-GB", 15)
    assert "15分钟内" in promise_text("zh-CN", 15)
    assert hand_over_text("en") == "A technician is here. Putting you through now."
