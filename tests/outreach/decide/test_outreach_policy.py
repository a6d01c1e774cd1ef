"""The outreach policy: hold-off, line inhibition, one contact per problem, channel choice."""

from __future__ import annotations

from detectors.records import Incident, Outreach
from outreach.decide.decision import Decision, DecisionContext, FamilyPrefs, PolicyConfig
from outreach.decide.pipeline import decide
from outreach.decide.policy import OutreachPolicy
from outreach.decide.stages.quiet_hours import in_quiet_hours

T0 = 1_700_000_000_000


def incident(kind: str = "lag", state: str = "open", sid: str = "s1", start: int = T0,
             detected: int = T0 + 6000, ended: int | None = None, iid: str | None = None,
             evidence: dict | None = None) -> Incident:  # type: ignore[type-arg]
    return Incident(incident_id=iid or f"{kind}-{sid}-{start}", kind=kind, state=state,  # type: ignore[arg-type]
                    started_at=start, detected_at=detected, ended_at=ended, line={},
                    evidence=evidence or {}, session_id=sid, student_id=f"u-{sid}",
                    classroom_id="c1")


def line(sessions: list[str], state: str = "open", ended: int | None = None) -> Incident:
    return Incident(incident_id="line-1", kind="line", state=state, started_at=T0,  # type: ignore[arg-type]
                    detected_at=T0 + 10_000, ended_at=ended, line={"edge": "e1"}, evidence={},
                    sessions=sessions)


class Policy:
    def __init__(self, **cfg: int) -> None:
        self.out: list[Outreach] = []
        self.p = OutreachPolicy(PolicyConfig(**cfg), self.out.append)

    def feed(self, *incs: Incident, now: int | None = None) -> list[Outreach]:
        for i in incs:
            self.p.on_incident(i)
        if now is not None:
            self.p.advance(now)
        return self.out


def test_nothing_is_decided_before_the_hold_off_runs_out() -> None:
    pol = Policy()
    assert pol.feed(incident(), now=T0 + 15_999) == []
    [o] = pol.feed(now=T0 + 16_000)
    assert (o.action, o.reason, o.decided_at) == ("chat", "lag", T0 + 16_000)
    assert o.case_id.startswith("case-")


def test_a_lag_that_heals_within_the_hold_off_stays_silent() -> None:
    pol = Policy()
    closed = incident(state="closed", ended=T0 + 8000, evidence={"closed_at": T0 + 14_000})
    [o] = pol.feed(incident(), closed, now=T0 + 20_000)
    assert (o.action, o.reason) == ("none", "recovered_in_hold_off")


def test_a_recovery_after_the_hold_off_does_not_cancel_the_contact() -> None:
    pol = Policy()
    closed = incident(state="closed", ended=T0 + 9000, evidence={"closed_at": T0 + 17_000})
    [o] = pol.feed(incident(), closed, now=T0 + 30_000)
    assert o.action == "chat"


def test_a_dropped_student_gets_a_phone_call() -> None:
    pol = Policy()
    [o] = pol.feed(incident("disconnect", detected=T0 + 10_000), now=T0 + 20_000)
    assert (o.action, o.reason) == ("call", "disconnect")


def test_a_session_in_a_line_incident_gets_an_in_app_notice_not_a_call() -> None:
    pol = Policy()
    [o] = pol.feed(incident("disconnect", detected=T0 + 10_000), line(["s1", "s2"]),
                   now=T0 + 20_000)
    assert (o.action, o.reason) == ("chat", "covered_by_line_incident")


def test_line_coverage_lasts_a_grace_period_after_the_line_incident_closes() -> None:
    pol = Policy()
    pol.feed(line(["s1"]), line(["s1"], state="closed", ended=T0 + 30_000))
    [o] = pol.feed(incident("disconnect", detected=T0 + 100_000), now=T0 + 110_000)
    assert o.reason == "disconnect"


def test_one_decision_per_incident_even_if_the_record_is_delivered_twice() -> None:
    pol = Policy()
    out = pol.feed(incident(), incident(), now=T0 + 20_000)
    pol.feed(incident(), now=T0 + 40_000)
    assert len(out) == 1


def test_with_family_cases_off_a_family_just_contacted_is_not_contacted_again() -> None:
    pol = Policy(family_cases=False)
    pol.feed(incident("disconnect", detected=T0 + 10_000), now=T0 + 20_000)
    out = pol.feed(incident("flapping", detected=T0 + 60_000), now=T0 + 70_000)
    assert [(o.action, o.reason) for o in out] == [("call", "disconnect"),
                                                    ("none", "already_contacted")]


def test_another_incident_of_a_contacted_family_joins_its_case_without_a_new_contact() -> None:
    pol = Policy(family_cases=True)
    pol.feed(incident("disconnect", detected=T0 + 10_000), now=T0 + 20_000)
    out = pol.feed(incident("flapping", detected=T0 + 60_000), now=T0 + 70_000)
    assert [(o.action, o.reason) for o in out] == [("call", "disconnect"),
                                                    ("none", "joined_open_case")]
    assert out[0].case_id == out[1].case_id


def test_calls_per_lesson_are_limited_across_the_family_cases() -> None:
    pol = Policy(contact_cooldown_ms=0, max_calls_per_lesson=2, case_reopen_ms=60_000,
                 family_cases=True)
    for k in range(3):
        start = T0 + k * 600_000
        pol.feed(incident("disconnect", start=start, detected=start), now=start + 10_000)
        pol.feed(incident("disconnect", "closed", start=start, detected=start,
                          ended=start + 20_000), now=start + 30_000)
    assert [o.reason for o in pol.out] == ["disconnect", "disconnect", "rate_limited"]
    assert len({o.case_id for o in pol.out}) == 3  # each problem was over before the next


def test_every_suppression_is_counted_by_reason() -> None:
    pol = Policy()
    closed = incident(state="closed", ended=T0 + 8000, evidence={"closed_at": T0 + 9000})
    pol.feed(incident(), closed, now=T0 + 20_000)
    assert pol.p.decisions[("none", "recovered_in_hold_off")] == 1


def ctx(**over: object) -> DecisionContext:
    base: dict[str, object] = dict(
        incident_id="i", kind="disconnect", session_id="s", student_id="u", classroom_id="c",
        detected_at=T0, now=T0 + 10_000, incident_closed=False, session_dropped=True,
        covering_line_incident=None, contacted_recently=False, calls_this_lesson=0,
        calls_today=0, family=None)
    base.update(over)
    return DecisionContext(**base)  # type: ignore[arg-type]


def test_stages_run_in_order_dedup_inhibit_hold_off() -> None:
    cfg = PolicyConfig()
    assert decide(ctx(contacted_recently=True, covering_line_incident="l", incident_closed=True),
                  cfg) == ("dedup", Decision("none", "already_contacted"))
    assert decide(ctx(covering_line_incident="l", incident_closed=True), cfg)[0] == "inhibit"
    assert decide(ctx(incident_closed=True), cfg)[0] == "hold_off"


def test_quiet_hours_stop_calls_in_the_family_time_zone() -> None:
    # 2023-11-14 22:13:20 UTC is 06:13 in Shanghai: inside 21:00-07:00.
    fam = FamilyPrefs(time_zone="Asia/Shanghai", quiet_start="21:00", quiet_end="07:00")
    cfg = PolicyConfig()
    assert decide(ctx(family=fam), cfg) == ("quiet_hours", Decision("none", "quiet_hours"))
    # Chat is fine in quiet hours while the student is in class.
    assert decide(ctx(family=fam, session_dropped=False, kind="lag"), cfg)[1].action == "chat"


def test_quiet_hours_across_midnight() -> None:
    noon_utc = 1_700_000_000_000 - 22 * 3_600_000 + 12 * 3_600_000 - 13 * 60_000 - 20_000
    assert in_quiet_hours(T0, "UTC", "22:00", "23:00")
    assert not in_quiet_hours(noon_utc, "UTC", "21:00", "07:00")


def test_do_not_call_and_sms_preference() -> None:
    assert decide(ctx(family=FamilyPrefs(do_not_call=True)), PolicyConfig())[1] == Decision(
        "none", "do_not_contact")
    sms = FamilyPrefs(preferred_channel="sms")
    assert decide(ctx(family=sms), PolicyConfig())[1].action == "sms"


def test_a_family_that_answered_stop_is_called_instead_of_texted() -> None:
    stopped = FamilyPrefs(preferred_channel="sms", sms_opted_out=True)
    assert decide(ctx(family=stopped), PolicyConfig())[1] == Decision("call", "sms_opted_out")
    assert decide(ctx(family=stopped, session_dropped=False), PolicyConfig())[1].action == "chat"
    no_phone = FamilyPrefs(preferred_channel="sms", sms_opted_out=True, do_not_call=True)
    assert decide(ctx(family=no_phone), PolicyConfig())[1] == Decision("none", "do_not_contact")


def test_memory_of_old_decisions_is_bounded_but_a_day_of_dedup_is_kept() -> None:
    pol = Policy()
    pol.feed(incident(), now=T0 + 20_000)
    pol.feed(incident(), now=T0 + 3_600_000)  # redelivered an hour later: still one decision
    assert len(pol.out) == 1
    pol.feed(now=T0 + 2 * 86_400_000)
    assert pol.p._decided == {}
    assert pol.p.ledger.last_contact == {}
