"""When the chat offers the one-tap fix (a lighter picture): the family's own downlink only."""

from __future__ import annotations

from typing import Any

from outreach.decide.case import CaseEvent
from outreach.decide.remedy import LIGHTER_PICTURE, RemedyRule, remedy_for
from outreach.decide.resume import Waiting, resume_point
from outreach.decide.signals import reply_signal
from outreach.decide.stages.retry_fallback import Reach, Step, next_step


def lag(*flags: list[str], **extra: Any) -> dict[str, Any]:
    """Lag evidence as the detector writes it: one entry per interval of the window."""
    intervals = [{"ts": 1000 * i, "interval_ms": 2000, "degraded": f} for i, f in enumerate(flags)]
    return {"rule": "3 of last 5 intervals degraded", "intervals": intervals, **extra}


def test_loss_on_the_familys_side_offers_a_lighter_picture() -> None:
    evidence = lag(["loss"], ["loss", "freeze"], [], ["low_fps"], ["freeze"])
    assert remedy_for("lag", evidence, line_covered=False) == LIGHTER_PICTURE


def test_a_low_receive_rate_in_the_evidence_offers_it_too() -> None:
    assert remedy_for("lag", {"recv_kbps": 120}, line_covered=False) == LIGHTER_PICTURE
    assert remedy_for("lag", {"recv_kbps": 2500}, line_covered=False) is None


def test_not_when_a_line_incident_covers_the_session() -> None:
    evidence = lag(["loss"], ["loss"], ["loss"])
    assert remedy_for("lag", evidence, line_covered=True) is None


def test_not_when_the_round_trip_is_what_is_wrong() -> None:
    evidence = lag(["rtt", "loss"], ["rtt"], ["rtt", "freeze"])
    assert remedy_for("lag", evidence, line_covered=False) is None


def test_not_when_the_picture_freezes_without_loss() -> None:
    evidence = lag(["freeze"], ["audio_stall"], ["freeze", "loss"])
    assert remedy_for("lag", evidence, line_covered=False) is None
    assert remedy_for("lag", evidence, line_covered=False,
                      rule=RemedyRule(min_downlink_share=0.3)) == LIGHTER_PICTURE


def test_never_for_a_disconnect_or_without_evidence() -> None:
    assert remedy_for("disconnect", lag(["loss"]), line_covered=False) is None
    assert remedy_for("lag", {}, line_covered=False) is None
    assert remedy_for("lag", {"intervals": "junk"}, line_covered=False) is None
    assert remedy_for("lag", {"intervals": [1, {"degraded": "x"}]}, line_covered=False) is None


def test_the_tap_waits_for_the_window_then_recovery_ends_it_and_no_recovery_calls() -> None:
    assert reply_signal("remedy_applied") == "remedy"
    assert next_step("chat", "remedy", Reach()) == Step("wait", "remedy_applied")
    assert next_step("chat", "remedy_worked", Reach(incident_closed=True)) == Step(
        "done", "recovered_after_remedy")
    assert next_step("chat", "remedy_failed", Reach()) == Step("call", "remedy_did_not_help")
    assert next_step("chat", "remedy_failed", Reach(do_not_call=True)) == Step(
        "done", "do_not_contact")


def test_a_restarted_runner_carries_on_waiting_out_the_remedy() -> None:
    events = [
        CaseEvent(1, "k", 1, "sending", "system", {"channel": "chat", "message_id": "k:chat:1",
                                                   "remedy": "lighter_picture"}),
        CaseEvent(2, "k", 2, "chat_reply", "family:stu-1", {"intent": "remedy_applied"}),
    ]
    assert resume_point(events) == Waiting("chat", "k:chat:1", "remedy")
