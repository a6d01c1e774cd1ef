"""Family figures: lasting problems answered, drops escalated, chronic families in time."""

from __future__ import annotations

from typing import Any

from monitor.simulate.family_score import family_score

T0 = 1_767_258_000_000
S = 1_000


def truth(kind: str, start: int, end: int | None, sid: str = "s1") -> dict[str, Any]:
    return {"kind": kind, "session_id": sid, "started_at": start, "ended_at": end,
            "fault": "chronic_link"}


def found(kind: str, start: int, sid: str = "s1", student: str = "u1") -> dict[str, Any]:
    return {"record": "incident", "state": "open", "kind": kind, "session_id": sid,
            "student_id": student, "incident_id": f"{kind}-{start}", "started_at": start,
            "detected_at": start + 5 * S, "line": {}}


def decided(kind: str, start: int, action: str, reason: str, case: str,
            at: int | None = None) -> dict[str, Any]:
    return {"record": "outreach", "incident_id": f"{kind}-{start}", "case_id": case,
            "action": action, "reason": reason, "decided_at": at or start + 15 * S,
            "student_id": "u1", "session_id": "s1"}


def test_a_lasting_problem_that_joined_a_contacted_case_counts_as_answered() -> None:
    a, b = T0, T0 + 120 * S
    records = [found("lag", a), decided("lag", a, "chat", "lag", "case-1"),
               found("lag", b), decided("lag", b, "none", "joined_open_case", "case-1")]
    score = family_score(records, [truth("lag", a, a + 40 * S), truth("lag", b, b + 60 * S)])
    assert (score.long_answered.met, score.long_answered.total) == (2, 2)
    assert score.first_contact_ms == [15 * S]


def test_a_lasting_problem_nobody_answered_counts_against() -> None:
    records = [found("lag", T0), decided("lag", T0, "none", "already_contacted", "case-9")]
    score = family_score(records, [truth("lag", T0, T0 + 45 * S)])
    assert (score.long_answered.met, score.long_answered.total) == (0, 1)


def test_a_drop_after_chat_only_contact_must_be_escalated_while_the_student_is_out() -> None:
    lag, drop = T0, T0 + 120 * S
    base = [found("lag", lag), decided("lag", lag, "chat", "lag", "case-1"),
            found("disconnect", drop)]
    escalated = [*base, decided("disconnect", drop, "call", "escalated_dropped", "case-1")]
    joined = [*base, decided("disconnect", drop, "none", "joined_open_case", "case-1")]
    rows = [truth("lag", lag, lag + 40 * S), truth("disconnect", drop, drop + 60 * S)]
    assert family_score(escalated, rows).drops_escalated.value == 1.0
    assert family_score(joined, rows).drops_escalated.value == 0.0
    back_in_class = [truth("lag", lag, lag + 40 * S), truth("disconnect", drop, drop + 12 * S)]
    assert family_score(joined, back_in_class).drops_escalated.total == 0


def test_three_problems_in_ten_minutes_need_a_technician_within_a_minute_of_the_third() -> None:
    starts = [T0, T0 + 150 * S, T0 + 300 * S]
    records: list[dict[str, Any]] = []
    for k, s in enumerate(starts):
        records.append(found("lag", s))
        action, reason = (("chat", "lag"), ("none", "joined_open_case"),
                          ("agent_queue", "escalated_recurring"))[k]
        records.append(decided("lag", s, action, reason, "case-1"))
    rows = [truth("lag", s, s + 40 * S) for s in starts]
    assert family_score(records, rows).chronic_in_time.value == 1.0
    late = [dict(r, decided_at=starts[2] + 90 * S) if r.get("action") == "agent_queue" else r
            for r in records]
    assert family_score(late, rows).chronic_in_time.value == 0.0
