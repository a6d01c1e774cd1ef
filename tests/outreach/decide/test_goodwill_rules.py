"""Goodwill rules: which closed case earns a make-up lesson or a credit, and why not."""

from __future__ import annotations

from outreach.decide.family import Guardian, Student, parse_quiet_hours
from outreach.decide.goodwill import (
    BELOW_THRESHOLD,
    COVERED_BY_LINE,
    DISABLED,
    LINE_WITHOUT_FAMILIES,
    NO_FAMILY,
    NOT_CLOSED,
    CaseFacts,
    GoodwillRules,
    Member,
    NoOffer,
    Proposal,
    SmsStep,
    decision_refusal,
    family_sms_step,
    propose,
    propose_bulk,
)


def facts(minutes: float, **kw: object) -> CaseFacts:
    base: dict[str, object] = {"case_id": "c1", "kind": "disconnect", "state": "closed",
                               "student_id": "s1", "classroom_id": "math-101",
                               "minutes_lost": minutes}
    base.update(kw)
    return CaseFacts(**base)  # type: ignore[arg-type]


def test_ten_minutes_lost_earns_a_makeup_lesson_by_default() -> None:
    got = propose(GoodwillRules(), facts(10.0))
    assert isinstance(got, Proposal)
    assert (got.kind, got.bulk, got.minutes_lost) == ("makeup", False, 10.0)
    assert [m.student_id for m in got.members] == ["s1"]


def test_less_than_ten_minutes_of_a_long_lesson_earns_nothing() -> None:
    assert propose(GoodwillRules(), facts(9.9)) == NoOffer("c1", BELOW_THRESHOLD)


def test_a_quarter_of_a_short_lesson_is_enough() -> None:
    rules = GoodwillRules(lesson_minutes=25)
    got = propose(rules, facts(6.25))
    assert isinstance(got, Proposal)
    assert propose(rules, facts(6.0)) == NoOffer("c1", BELOW_THRESHOLD)
    assert rules.threshold_minutes(25) == 6.25
    assert rules.threshold_minutes(60) == 10.0


def test_the_case_knows_its_own_lesson_length() -> None:
    got = propose(GoodwillRules(), facts(5.0, lesson_minutes=20.0))
    assert isinstance(got, Proposal)


def test_a_product_gets_credits_by_its_classroom_prefix() -> None:
    rules = GoodwillRules(products={"eng-": "credit", "eng-vip-": "makeup"})
    assert rules.offer_for("eng-42") == "credit"
    assert rules.offer_for("eng-vip-7") == "makeup"  # the longest prefix decides
    assert rules.offer_for("math-1") == "makeup"
    got = propose(rules, facts(30.0, classroom_id="eng-42"))
    assert isinstance(got, Proposal) and got.kind == "credit"
    assert got.members[0].kind == "credit"


def test_cases_that_earn_nothing_say_why() -> None:
    rules = GoodwillRules()
    assert propose(rules, facts(30.0, state="resolved")) == NoOffer("c1", NOT_CLOSED)
    assert propose(rules, facts(30.0, student_id=None)) == NoOffer("c1", NO_FAMILY)
    assert propose(rules, facts(30.0, covered_by_line=True)) == NoOffer("c1", COVERED_BY_LINE)
    assert propose(GoodwillRules(enabled=False), facts(30.0)) == NoOffer("c1", DISABLED)


def test_a_line_incident_proposes_one_offer_for_every_family_once() -> None:
    fams = [Member("c2", "s2", "eng-1", 12.0), Member("c1", "s1", "math-1", 3.0),
            Member("c3", "s2", "eng-1", 4.0)]  # s2 twice: one offer per family
    got = propose_bulk(GoodwillRules(products={"eng-": "credit"}), "line-1", fams)
    assert isinstance(got, Proposal)
    assert got.bulk and got.case_id == "line-1"
    assert [(m.student_id, m.case_id, m.kind) for m in got.members] == [
        ("s1", "c1", "makeup"), ("s2", "c2", "credit")]
    assert got.minutes_lost == 15.0
    assert propose_bulk(GoodwillRules(), "line-2", []) == NoOffer("line-2", LINE_WITHOUT_FAMILIES)


def test_a_decision_needs_a_known_verb_a_reason_and_an_open_offer() -> None:
    assert decision_refusal("proposed", "confirm", "lost 20 min") is None
    assert decision_refusal("proposed", "approve", "x") == "unknown_decision"
    assert decision_refusal("proposed", "decline", "  ") == "reason_required"
    assert decision_refusal("proposed", "decline", "x" * 501) == "reason_too_long"
    assert decision_refusal("confirmed", "decline", "changed my mind") == "already_decided"


def test_members_round_trip_through_their_stored_form() -> None:
    m = Member("c1", "s1", None, 12.5, "credit")
    assert Member.from_dict(m.to_dict()) == m


def family(channel: str, *, phone: str | None = "+4791234561", quiet: str = "",
           language: str = "en") -> Student:
    return Student("s1", "Kari", language, "Europe/Oslo", (Guardian(
        "Mum", phone, "mother", channel, language, "Europe/Oslo",  # type: ignore[arg-type]
        parse_quiet_hours(quiet), False),))


NOON_OSLO = 1_767_265_200_000  # 2026-01-01 12:00 Europe/Oslo


def test_the_family_hears_by_sms_when_the_phone_is_their_channel() -> None:
    assert family_sms_step(family("sms"), set(), NOON_OSLO) == SmsStep(
        "send", phone="+4791234561", language="en")
    assert family_sms_step(family("call"), set(), NOON_OSLO).action == "send"


def test_no_sms_to_chat_families_without_phone_after_stop_or_in_quiet_hours() -> None:
    assert family_sms_step(family("chat"), set(), NOON_OSLO) == SmsStep("skip", "prefers_chat")
    assert family_sms_step(family("sms", phone=None), set(), NOON_OSLO) == SmsStep(
        "skip", "no_phone")
    assert family_sms_step(family("sms"), {"+4791234561"}, NOON_OSLO) == SmsStep(
        "skip", "opted_out")
    assert family_sms_step(family("sms", quiet="11:00-13:00"), set(), NOON_OSLO) == SmsStep(
        "later", "quiet_hours")
    assert family_sms_step(None, set(), NOON_OSLO) == SmsStep("skip", "no_family")
