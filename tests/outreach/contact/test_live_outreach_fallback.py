"""The retry/fallback stage (pure): chat unanswered -> call -> SMS -> agent queue."""

from __future__ import annotations

import pytest

from detectors.records import Incident
from outreach.contact.lines import LineBook
from outreach.decide.stages.retry_fallback import SIGNALS, Reach, Signal, Step, next_step

OPEN = Reach()


@pytest.mark.parametrize(
    ("channel", "signal", "expected"),
    [
        ("chat", "delivered", Step("wait", "waiting_for_answer")),
        ("chat", "timeout", Step("call", "chat_unanswered")),
        ("chat", "send_failed", Step("call", "chat_unanswered")),
        ("chat", "fine", Step("done", "family_says_fine")),
        ("chat", "help", Step("agent_queue", "family_asked_for_help")),
        ("call", "no_answer", Step("sms", "call_no_answer")),
        ("call", "busy", Step("sms", "call_busy")),
        ("call", "machine", Step("sms", "call_machine")),
        ("call", "failed", Step("sms", "call_failed")),
        ("call", "timeout", Step("sms", "call_timeout")),
        ("call", "send_failed", Step("sms", "call_send_failed")),
        ("call", "answered", Step("done", "family_reached_by_call")),
        ("call", "help", Step("agent_queue", "family_asked_for_help")),
        ("sms", "delivered", Step("wait", "waiting_for_answer")),
        ("sms", "timeout", Step("agent_queue", "sms_unanswered")),
        ("sms", "undelivered", Step("agent_queue", "sms_failed")),
        ("sms", "send_failed", Step("agent_queue", "sms_failed")),
    ],
)
def test_the_chain(channel: str, signal: Signal, expected: Step) -> None:
    assert next_step(channel, signal, OPEN) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reach", "reason"),
    [
        (Reach(do_not_call=True), "do_not_contact"),
        (Reach(has_phone=False), "no_reachable_phone"),
        (Reach(quiet_hours=True), "quiet_hours"),
        (Reach(calls_left=0), "rate_limited"),
    ],
)
def test_no_call_when_the_family_may_not_be_phoned(reach: Reach, reason: str) -> None:
    assert next_step("chat", "timeout", reach) == Step("done", reason)


def test_the_call_budget_does_not_stop_the_sms_after_a_missed_call() -> None:
    assert next_step("call", "no_answer", Reach(calls_left=0)) == Step("sms", "call_no_answer")
    assert next_step("call", "no_answer", Reach(quiet_hours=True)) == Step("done", "quiet_hours")


# `remedy_worked` is itself the close of the incident within the remedy window.
ANSWERS = ("fine", "help", "unclear", "remedy_worked")


@pytest.mark.parametrize("signal", [s for s in SIGNALS if s not in ANSWERS])
def test_a_line_notice_and_a_closed_incident_go_no_further(signal: Signal) -> None:
    for channel in ("chat", "call", "sms"):
        assert next_step(channel, signal, Reach(notice_only=True)).action == "done"  # type: ignore[arg-type]
        closed = next_step(channel, signal, Reach(incident_closed=True))  # type: ignore[arg-type]
        assert closed == Step("done", "incident_closed")


def test_the_family_answer_wins_even_after_the_incident_closed() -> None:
    assert next_step("chat", "fine", Reach(incident_closed=True)).reason == "family_says_fine"
    assert next_step("call", "help", Reach(notice_only=True)).action == "agent_queue"
    unclear = next_step("sms", "unclear", Reach(incident_closed=True))
    assert unclear == Step("agent_queue", "family_reply_unclear")  # a person reads it
    remedied = next_step("chat", "remedy_worked", Reach(incident_closed=True))
    assert remedied == Step("done", "recovered_after_remedy")


def test_a_family_that_answered_stop_gets_a_person_instead_of_an_sms() -> None:
    assert next_step("call", "no_answer", Reach(sms_opted_out=True)) == Step(
        "agent_queue", "sms_opted_out"
    )
    assert next_step("call", "no_answer", Reach(sms_opted_out=True, do_not_call=True)) == Step(
        "done", "do_not_contact"
    )
    assert next_step("chat", "timeout", Reach(sms_opted_out=True)).action == "call"


def test_the_line_book_covers_a_session_around_its_line_incident_then_forgets() -> None:
    book = LineBook(grace_ms=60_000)
    line = Incident("line-1", "line", "open", 100_000, 108_000, None, {"edge": "e1"}, {},
                    sessions=["s1", "s2"])  # fmt: skip
    book.take(line)
    assert book.covers("s1", 50_000) and book.covers("s2", 500_000)
    assert not book.covers("s1", 30_000) and not book.covers("s3", 100_000)
    line.state, line.ended_at = "closed", 200_000
    book.take(line)
    assert book.covers("s1", 250_000) and not book.covers("s1", 270_000)
    book.prune(199_999)
    assert book.covers("s1", 150_000)
    book.prune(200_001)
    assert not book.covers("s1", 150_000)
