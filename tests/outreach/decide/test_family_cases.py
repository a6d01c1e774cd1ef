"""One family, one case (contract 1.1): repeat problems join the owner's case and escalate."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.records import Incident, Outreach
from outreach.decide.decision import FamilyPrefs, PolicyConfig
from outreach.decide.policy import OutreachPolicy

T0 = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC
MIN = 60_000


def problem(kind: str, start: int, *, lasts: int | None = 40_000, sid: str = "s1",
            student: str = "u1") -> list[Incident]:
    """An incident detected 5 s after it began, and (unless `lasts` is None) its close."""
    iid = f"{kind}-{sid}-{start}"
    base = dict(incident_id=iid, kind=kind, started_at=start, detected_at=start + 5_000,
                line={"edge": "e1"}, evidence={}, session_id=sid, student_id=student,
                classroom_id="c1")
    opened = Incident(state="open", ended_at=None, **base)  # type: ignore[arg-type]
    if lasts is None:
        return [opened]
    return [opened, Incident(state="closed", ended_at=start + lasts, **base)]  # type: ignore[arg-type]


def run(incidents: list[Incident], until: int, family: FamilyPrefs | None = None,
        **cfg: int) -> list[Outreach]:
    """Feed incidents in event-time order (closes at their end), deciding as time goes."""
    out: list[Outreach] = []
    policy = OutreachPolicy(PolicyConfig(family_cases=True, **cfg),  # type: ignore[arg-type]
                            out.append)
    policy.family = lambda _student: family
    timed = sorted(((i.detected_at if i.state == "open" else i.ended_at or 0), n, i)
                   for n, i in enumerate(incidents))
    for at, _, inc in timed:
        policy.advance(at)
        policy.on_incident(inc)
    policy.advance(until)
    return out


def test_with_family_cases_off_every_incident_is_its_own_case_as_in_1_0() -> None:
    incidents = [i for k in range(4) for i in problem("lag", T0 + k * 2 * MIN)]
    out: list[Outreach] = []
    policy = OutreachPolicy(PolicyConfig(family_cases=False), out.append)
    def at(i: Incident) -> int:
        return i.detected_at if i.state == "open" else i.ended_at or 0

    for inc in sorted(incidents, key=at):
        policy.advance(at(inc))
        policy.on_incident(inc)
    policy.advance(T0 + 20 * MIN)
    assert len({o.case_id for o in out}) == 4
    assert [o.reason for o in out] == ["lag", "already_contacted", "already_contacted",
                                       "already_contacted"]


def test_a_chronic_link_is_one_case_with_one_chat_and_one_technician() -> None:
    # The class freezes for 40 s every two minutes, for the whole lesson.
    incidents = [i for k in range(8) for i in problem("lag", T0 + k * 2 * MIN)]
    out = run(incidents, T0 + 20 * MIN)
    assert len({o.case_id for o in out}) == 1
    assert [(o.action, o.reason) for o in out] == [
        ("chat", "lag"), ("none", "joined_open_case"), ("agent_queue", "escalated_recurring"),
        *[("none", "joined_open_case")] * 5]
    third = out[2]
    assert third.decided_at - (T0 + 4 * MIN) < MIN  # before the third problem is a minute old


def test_a_student_chatted_to_about_lag_who_then_drops_out_gets_a_call() -> None:
    out = run(problem("lag", T0, lasts=60_000) + problem("disconnect", T0 + 2 * MIN, lasts=None),
              T0 + 4 * MIN)
    assert [(o.action, o.reason) for o in out] == [("chat", "lag"), ("call", "escalated_dropped")]
    assert out[0].case_id == out[1].case_id


def test_the_dropped_escalation_sends_an_sms_where_calls_may_not_go() -> None:
    # 22:15 in UTC is inside the family's quiet hours (21:00-07:00): an SMS, not a ring.
    quiet = FamilyPrefs(quiet_start="21:00", quiet_end="07:00")
    incidents = problem("lag", T0, lasts=60_000) + problem("disconnect", T0 + 2 * MIN, lasts=None)
    out = run(incidents, T0 + 4 * MIN, family=quiet)
    assert (out[1].action, out[1].reason) == ("sms", "escalated_dropped")
    no_calls = run(incidents, T0 + 4 * MIN, family=FamilyPrefs(do_not_call=True))
    assert (no_calls[1].action, no_calls[1].reason) == ("sms", "escalated_dropped")
    opted_out = FamilyPrefs(do_not_call=True, sms_opted_out=True)
    assert run(incidents, T0 + 4 * MIN, family=opted_out)[1].reason == "do_not_contact"


def test_a_drop_after_a_call_joins_the_case_without_a_second_call() -> None:
    out = run(problem("disconnect", T0, lasts=60_000) + problem("disconnect", T0 + 3 * MIN),
              T0 + 6 * MIN)
    assert [(o.action, o.reason) for o in out] == [("call", "disconnect"),
                                                    ("none", "joined_open_case")]


def test_many_lesson_minutes_lost_reach_a_technician_even_with_few_problems() -> None:
    out = run(problem("lag", T0, lasts=6 * MIN) + problem("lag", T0 + 7 * MIN), T0 + 9 * MIN)
    assert (out[1].action, out[1].reason) == ("agent_queue", "escalated_recurring")


def test_line_coverage_still_wins_for_a_joined_incident() -> None:
    out: list[Outreach] = []
    policy = OutreachPolicy(PolicyConfig(family_cases=True), out.append)
    for inc in problem("lag", T0, lasts=None):
        policy.on_incident(inc)
    policy.advance(T0 + MIN)
    line = Incident(incident_id="line-e1", kind="line", state="open", started_at=T0 + 2 * MIN,
                    detected_at=T0 + 2 * MIN, ended_at=None, line={"edge": "e1"}, evidence={},
                    sessions=["s1"])
    policy.on_incident(line)
    policy.on_incident(problem("disconnect", T0 + 2 * MIN, lasts=None)[0])
    policy.advance(T0 + 4 * MIN)
    assert (out[1].action, out[1].reason) == ("chat", "covered_by_line_incident")
    assert out[1].case_id == out[0].case_id


def test_a_family_fine_for_long_enough_gets_a_new_case() -> None:
    reopen = 15 * MIN
    out = run(problem("lag", T0) + problem("lag", T0 + 20 * MIN) + problem("lag", T0 + 60 * MIN),
              T0 + 70 * MIN, case_reopen_ms=reopen)
    # 20 min later the case (over at +15:40) closed less than 15 min ago: it joins;
    # 60 min later the family had been fine for far longer: a new case, a new contact.
    assert [o.reason for o in out] == ["lag", "joined_open_case", "lag"]
    assert out[0].case_id == out[1].case_id != out[2].case_id


def test_a_case_whose_problem_never_closes_is_forgotten_after_a_day() -> None:
    # A student who never came back: the close of the drop never comes. The case must not
    # stay open (and grow) for ever; a day later the family starts afresh.
    day = 24 * 60 * MIN
    out = run(problem("disconnect", T0, lasts=None) + problem("lag", T0 + day + 20 * MIN),
              T0 + day + 30 * MIN)
    assert [o.reason for o in out] == ["disconnect", "lag"]
    assert out[0].case_id != out[1].case_id


LEVEL = {"chat": 1, "call": 2, "sms": 2, "agent_queue": 3}
STEP = st.tuples(st.sampled_from(["lag", "disconnect", "flapping"]),
                 st.integers(0, 4), st.integers(5_000, 4 * MIN) | st.none(),
                 st.sampled_from(["u1", "u2"]))


@settings(max_examples=150, deadline=None)
@given(st.lists(STEP, min_size=1, max_size=14))
def test_families_cases_and_the_ladder_hold_on_any_stream(steps: list[tuple[
        str, int, int | None, str]]) -> None:
    incidents: list[Incident] = []
    t = T0
    for kind, gap_min, lasts, student in steps:
        t += gap_min * MIN + 1_000
        incidents += problem(kind, t, lasts=lasts, sid=f"s-{student}", student=student)
    out = run(incidents, t + 90 * MIN)
    ends = {i.incident_id: i.ended_at for i in incidents if i.state == "closed"}
    opened = {i.incident_id for i in incidents if i.state == "open"}
    # Every incident is decided exactly once: it joined a case or opened one.
    assert sorted(o.incident_id for o in out) == sorted(opened)
    case_of = {o.incident_id: o.case_id for o in out}
    spans = {i.incident_id: (i.student_id, i.detected_at, ends.get(i.incident_id))
             for i in incidents if i.state == "open"}
    # Problems of one family that overlap in time are on one case.
    for a, (who_a, start_a, end_a) in spans.items():
        for b, (who_b, start_b, _) in spans.items():
            if who_a == who_b and start_a <= start_b and (end_a is None or start_b < end_a):
                assert case_of[a] == case_of[b]
    for student in ("u1", "u2"):
        mine = sorted((o for o in out if o.student_id == student), key=lambda o: o.decided_at)
        # A student never has two cases at once: once a case is left, it never comes back.
        seen: list[str] = []
        for o in mine:
            if not seen or seen[-1] != o.case_id:
                assert o.case_id not in seen
                seen.append(o.case_id)
        # Escalation never goes back down the ladder within a case (a line notice aside).
        for case in seen:
            levels = [LEVEL[o.action] for o in mine if o.case_id == case and o.action != "none"
                      and o.reason != "covered_by_line_incident"]
            assert levels == sorted(levels)
            assert sum(o.action == "agent_queue" for o in mine if o.case_id == case) <= 1
        # Never two calls or SMS to one family within 10 minutes.
        phone = [o.decided_at for o in mine if o.action in ("call", "sms")]
        assert all(b - a >= 10 * MIN for a, b in pairwise(phone))
