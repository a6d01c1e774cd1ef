# ruff: noqa: RUF001  (Chinese replies use full-width forms on purpose)
"""The satisfaction follow-up's rules: when to ask, on which channel, what an answer means."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from outreach.decide.followup import (
    LATEST_MS,
    Answer,
    Family,
    FollowupConfig,
    Hold,
    Send,
    Suppress,
    due_at,
    local_day,
    needs_person,
    next_step,
    read_answer,
    takes_reply,
)
from outreach.decide.followup_figures import by_agent, lowest_line, satisfaction_line
from outreach.decide.queue_rules import Agent, Waiting, rank
from outreach.scripts.followup_wording import followup_text, thanks_text

CFG = FollowupConfig()
T = 1_767_258_000_000  # 2026-01-01 09:00 UTC = 17:00 in Asia/Shanghai
times = st.integers(min_value=0, max_value=4_000_000_000_000)


@given(times, st.none() | times)
def test_the_follow_up_is_never_due_before_the_lesson_ends_or_the_case_closes(
    closed: int, lesson_end: int | None
) -> None:
    due = due_at(closed, lesson_end, CFG)
    assert due >= closed + CFG.delay_ms
    if lesson_end is not None:
        assert due >= lesson_end + CFG.delay_ms


@given(st.booleans(), st.booleans(), st.booleans(), st.booleans(), st.booleans(), st.booleans(),
       st.booleans(), times, times)
def test_nothing_goes_early_in_class_to_do_not_contact_or_twice_a_day(
    dnc: bool, quiet: bool, in_class: bool, app: bool, sms: bool, today: bool, unanswered: bool,
    now: int, due: int,
) -> None:
    family = Family(dnc, quiet, in_class, app, sms, today, unanswered)
    step = next_step(now, due, family)
    if isinstance(step, Send):
        assert due <= now <= due + LATEST_MS
        assert not dnc and not in_class and not today and not unanswered
        assert step.channel == "chat" if app else (step.channel == "sms" and not quiet and sms)
    if dnc:
        assert step == Suppress("do_not_contact")


def test_the_app_open_gets_the_chat_else_an_sms_out_of_quiet_hours() -> None:
    assert next_step(T, T, Family(app_open=True, can_sms=True)) == Send("chat")
    assert next_step(T, T, Family(app_open=True, quiet=True)) == Send("chat")
    assert next_step(T, T, Family(can_sms=True)) == Send("sms")
    assert next_step(T, T, Family(can_sms=True, quiet=True)) == Hold("quiet_hours")
    assert next_step(T, T, Family(can_sms=True, in_class=True)) == Hold("in_class")
    assert next_step(T - 1, T, Family(can_sms=True)) == Hold("not_due")
    assert next_step(T, T, Family()) == Suppress("no_channel")
    assert next_step(T + LATEST_MS + 1, T, Family(can_sms=True)) == Suppress("too_late")
    assert next_step(T, T, Family(can_sms=True, asked_today=True)) == Suppress("asked_today")
    assert next_step(T, T, Family(can_sms=True, unanswered=True)) == Suppress("unanswered")


def test_the_day_is_the_familys_own() -> None:
    late = T + 8 * 3_600_000  # 17:00 UTC = 01:00 next day in Shanghai
    assert local_day(late, "Asia/Shanghai") == "2026-01-02"
    assert local_day(late, "America/Los_Angeles") == "2026-01-01"
    assert local_day(late, "Not/AZone") == "2026-01-01"  # UTC


def test_a_digit_is_the_score_and_the_rest_the_comment() -> None:
    assert read_answer("2") == Answer(2, "")
    assert read_answer(" 5 ") == Answer(5, "")
    assert read_answer("２") == Answer(2, "")  # full-width digit
    assert read_answer("4/5") == Answer(4, "")
    assert read_answer("3分 老师听不到声音") == Answer(3, "老师听不到声音")
    assert read_answer("1 - the sound kept cutting out") == Answer(1, "the sound kept cutting out")
    assert read_answer("10") == Answer(None, "10")  # not 1-5
    assert read_answer("6") == Answer(None, "6")
    assert read_answer("thanks, all good") == Answer(None, "thanks, all good")
    assert len(read_answer("5 " + "x" * 5000).comment) == 1000


def test_a_low_score_or_a_complaint_needs_a_person() -> None:
    assert needs_person(Answer(3, ""), CFG) == "low_score"
    assert needs_person(Answer(1, "great"), CFG) == "low_score"
    assert needs_person(Answer(4, ""), CFG) is None
    assert needs_person(Answer(5, "thank you, very helpful"), CFG) is None
    assert needs_person(Answer(5, "but the class was still lagging"), CFG) == "complaint"
    assert needs_person(Answer(None, "我要投诉"), CFG) == "complaint"
    assert needs_person(Answer(4, "太慢了"), CFG) == "complaint"
    assert needs_person(Answer(None, "谢谢"), CFG) is None


def test_words_asking_for_help_are_not_taken_as_an_answer_but_a_score_is() -> None:
    assert takes_reply(Answer(1, ""), asks_for_help=True)
    assert takes_reply(Answer(None, "it was fine"), asks_for_help=False)
    assert not takes_reply(Answer(None, "please call me"), asks_for_help=True)
    assert not takes_reply(Answer(None, ""), asks_for_help=False)


def test_the_question_is_in_the_familys_language() -> None:
    assert "How did we do today? Reply 1-5" in followup_text("en", "sms")
    assert followup_text("en", "sms").endswith("Reply STOP to stop these messages.")
    assert "STOP" not in followup_text("en", "chat")
    assert "1到5分" in followup_text("zh-CN", "chat")
    assert followup_text("zh-CN", "sms").endswith("回复TD退订")
    assert thanks_text("en", False) == "Thank you for your score!"
    assert "get in touch" in thanks_text("en", True)


class _A:
    def __init__(self, agent: str | None, score: int | None) -> None:
        self.agent, self.score = agent, score


def test_scores_per_agent_and_for_the_digest() -> None:
    rows = [_A("li", 2), _A("li", 5), _A(None, 4), _A("wu", None)]
    assert [a.to_dict() for a in by_agent(rows)] == [
        {"agent": "li", "answers": 2, "mean": 3.5, "low": 1},
        {"agent": "(automatic)", "answers": 1, "mean": 4.0, "low": 0},
    ]
    assert satisfaction_line([2, 5, 4]) == "3.7 of 5 from 3 answers, 1 at 3 or below"
    assert satisfaction_line([]) is None
    assert satisfaction_line([4]) == "4.0 of 5 from 1 answer, 0 at 3 or below"
    assert lowest_line([("5.4", 2), ("5.3", 5), ("5.3", 4), ("5.4", 1)]) == (
        "5.4 1.5 of 5 (2 answers); 5.3 4.5 of 5 (2 answers)")
    assert lowest_line([]) is None


def test_a_follow_up_case_has_24_hours_and_goes_to_its_agent_by_case_id() -> None:
    follow = Waiting("case-satisfaction-1", "satisfaction", queued_at=T, student_id="stu-1")
    live = Waiting("case-lag-2", "lag", queued_at=T + 1_000, student_id="stu-2")
    agents = [Agent("wu", True, idle_since=1), Agent("li", True, idle_since=9)]
    later = T + 3_600_000  # an hour on: the lag is past its 2 min, the follow-up is not
    ranked = rank([follow, live], later, agents, {"case-satisfaction-1": "li", "stu-1": "wu"})
    assert [r.entry.case_id for r in ranked] == ["case-lag-2", "case-satisfaction-1"]
    assert ranked[1].sla_left_ms == 86_400_000 - 3_600_000 and not ranked[1].breached
    assert ranked[1].offered_to == "li"  # the case's own agent before the family's last helper
    assert ranked[0].breached and ranked[0].offered_to == "wu"
