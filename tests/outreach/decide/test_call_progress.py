"""An agent's call folded from its timeline: dialling to answered or no answer; contradictions."""

from __future__ import annotations

from typing import Any

from outreach.decide.call_progress import calls, contradiction, latest
from outreach.decide.case import CaseEvent

MID = "case-1:agent-call:1"


def ev(n: int, kind: str, **data: Any) -> CaseEvent:
    return CaseEvent(n, "case-1", 1000 * n, kind, "ann" if kind == "call" else "twilio", data)


def dialled(status: str = "queued", reason: str = "") -> CaseEvent:
    return ev(1, "call", message_id=MID, status=status, reason=reason, provider_id="CA1",
              guardian="Grandma", to="+47******61")


def test_a_call_moves_from_dialling_to_ringing_to_answered() -> None:
    timeline = [dialled()]
    assert latest(timeline).state == "dialling"  # type: ignore[union-attr]
    timeline.append(ev(2, "call_progress", status="ringing", message_id=MID))
    assert latest(timeline).state == "ringing"  # type: ignore[union-attr]
    timeline.append(ev(3, "call_progress", status="in-progress", message_id=MID))
    call = latest(timeline)
    assert call is not None and (call.state, call.updated_at, call.offers) == ("answered", 3000, ())


def test_a_call_that_failed_at_once_with_no_answer_offers_the_other_ways() -> None:
    call = latest([dialled("failed", "no-answer")])
    assert call is not None and call.state == "no_answer"
    assert call.to_dict()["offers"] == ["retry", "sms", "call_back"]
    assert latest([dialled("failed", "provider_down")]).state == "failed"  # type: ignore[union-attr]


def test_callbacks_are_tied_by_provider_id_and_a_late_ringing_does_not_reopen_the_end() -> None:
    timeline = [dialled(), ev(2, "call_fallback", status="busy", provider_id="CA1"),
                ev(3, "call_progress", status="ringing", provider_id="CA1")]
    assert latest(timeline).state == "no_answer"  # type: ignore[union-attr]
    machine = [dialled(), ev(2, "call_fallback", status="completed", message_id=MID,
                             AnsweredBy="machine_start")]
    assert latest(machine).state == "no_answer"  # type: ignore[union-attr]


def test_each_call_is_its_own_and_none_without_a_desk_call() -> None:
    second = ev(5, "call", message_id="case-1:agent-call:2", status="queued")
    assert [c.message_id for c in calls([dialled("failed", "no-answer"), second])] == [
        MID, "case-1:agent-call:2"]
    assert latest([ev(1, "attempt", channel="call")]) is None


def test_an_outcome_against_the_record_is_named() -> None:
    unanswered = [dialled("failed", "no-answer")]
    assert contradiction("resolved_by_call", unanswered, True) == \
        "no call on this case was answered (last: no answer)"
    assert contradiction("resolved_by_call", [], True) == "no call on this case was answered"
    answered = [dialled(), ev(2, "call_attempt_outcome", status="completed", message_id=MID)]
    assert contradiction("resolved_by_call", answered, True) is None
    assert contradiction("no_answer", answered, True) == "a call on this case was answered"
    assert contradiction("no_answer", unanswered, True) is None
    assert contradiction("self_recovered", [], False) == "the problem has not ended"
    assert contradiction("escalated", unanswered, False) is None
    # The chain's own call, answered, counts too.
    chain = [ev(1, "call_attempt_outcome", status="completed", message_id="x:call:1")]
    assert contradiction("resolved_by_call", chain, True) is None
