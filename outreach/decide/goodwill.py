"""Goodwill for lost lessons (pure): which closed case earns a make-up lesson or a credit.

A family case earns an offer when its lesson minutes lost reach `min_minutes` or
`min_share` of the lesson; a line incident earns one bulk offer for every family whose
session was on it. A family case the line incident covered gets no offer of its own (the
bulk offer has it). Every "no" is a result with a named reason (counted in a metric).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

from outreach.decide.family import Student

OfferKind = Literal["makeup", "credit"]
OFFER_KINDS: Final[tuple[OfferKind, ...]] = ("makeup", "credit")
OfferState = Literal["proposed", "confirmed", "declined"]
DECISIONS: Final = ("confirm", "decline")
MAX_REASON: Final = 500  # characters of an agent's reason kept

# Why a case earned no offer (metric label values).
BELOW_THRESHOLD: Final = "below_threshold"
COVERED_BY_LINE: Final = "covered_by_line_offer"
NO_FAMILY: Final = "no_family"
LINE_WITHOUT_FAMILIES: Final = "line_without_families"
NOT_CLOSED: Final = "not_closed"
DISABLED: Final = "disabled"


def offer_map(text: str) -> dict[str, OfferKind]:
    """`eng-=credit,vip-=makeup` -> {prefix: kind}; ValueError if malformed."""
    out: dict[str, OfferKind] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        prefix, _, kind = item.rpartition("=")
        if not prefix or kind not in OFFER_KINDS or len(prefix) > 128:
            raise ValueError(f"not prefix=makeup|credit: {item[:80]!r}")
        out[prefix] = "credit" if kind == "credit" else "makeup"
    return out


@dataclass(frozen=True, slots=True)
class GoodwillRules:
    """When a lost lesson is made good, and with what (settings `[goodwill]`)."""

    enabled: bool = True
    min_minutes: float = 10.0
    min_share: float = 0.25
    lesson_minutes: float = 45.0
    default_offer: OfferKind = "makeup"
    products: Mapping[str, OfferKind] = field(default_factory=dict)  # classroom prefix -> kind

    def product_of(self, classroom_id: str | None) -> str:
        """The product of a classroom: the longest configured prefix of its id ('' if none)."""
        room = classroom_id or ""
        found = [p for p in self.products if p and room.startswith(p)]
        return max(found, key=len) if found else ""

    def offer_for(self, classroom_id: str | None) -> OfferKind:
        """A make-up lesson or a credit: by the classroom's product, else the default."""
        product = self.product_of(classroom_id)
        return self.products[product] if product else self.default_offer

    def threshold_minutes(self, lesson_minutes: float | None = None) -> float:
        """The minutes lost that earn an offer: `min_minutes` or `min_share` of the lesson."""
        lesson = lesson_minutes if lesson_minutes and lesson_minutes > 0 else self.lesson_minutes
        return min(self.min_minutes, self.min_share * lesson)


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the rules need of one closed case."""

    case_id: str
    kind: str  # "line" or a session problem kind
    state: str
    student_id: str | None
    classroom_id: str | None
    minutes_lost: float
    covered_by_line: bool = False  # its problem was part of a line incident
    lesson_minutes: float | None = None


@dataclass(frozen=True, slots=True)
class Member:
    """One family of a bulk offer: the family's own case, student and classroom."""

    case_id: str
    student_id: str
    classroom_id: str | None
    minutes_lost: float
    kind: OfferKind = "makeup"

    def to_dict(self) -> dict[str, Any]:
        """As stored on the offer."""
        return {"case_id": self.case_id, "student_id": self.student_id,
                "classroom_id": self.classroom_id, "minutes_lost": self.minutes_lost,
                "kind": self.kind}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Member:
        """Back from the stored form."""
        kind: OfferKind = "credit" if d.get("kind") == "credit" else "makeup"
        room = d.get("classroom_id")
        return cls(str(d["case_id"]), str(d["student_id"]),
                   None if room is None else str(room), float(d.get("minutes_lost") or 0), kind)


@dataclass(frozen=True, slots=True)
class Proposal:
    """An offer to propose on a case (one family, or every family of a line incident)."""

    case_id: str
    kind: OfferKind
    bulk: bool
    minutes_lost: float
    members: tuple[Member, ...]
    why: str


@dataclass(frozen=True, slots=True)
class NoOffer:
    """A case that earns nothing, and why."""

    case_id: str
    reason: str


def propose(rules: GoodwillRules, case: CaseFacts) -> Proposal | NoOffer:
    """The offer a closed family case earns, or why none."""
    if not rules.enabled:
        return NoOffer(case.case_id, DISABLED)
    if case.state != "closed":
        return NoOffer(case.case_id, NOT_CLOSED)
    if not case.student_id:
        return NoOffer(case.case_id, NO_FAMILY)
    if case.covered_by_line:
        return NoOffer(case.case_id, COVERED_BY_LINE)
    threshold = rules.threshold_minutes(case.lesson_minutes)
    if case.minutes_lost < threshold:
        return NoOffer(case.case_id, BELOW_THRESHOLD)
    kind = rules.offer_for(case.classroom_id)
    member = Member(case.case_id, case.student_id, case.classroom_id, case.minutes_lost, kind)
    return Proposal(case.case_id, kind, False,
                    case.minutes_lost, (member,),
                    f"{case.minutes_lost:g} lesson minutes lost (threshold {threshold:g})")


def propose_bulk(rules: GoodwillRules, line_case_id: str, families: Iterable[Member]
                 ) -> Proposal | NoOffer:
    """One offer for every family a line incident cost a class (one per student)."""
    if not rules.enabled:
        return NoOffer(line_case_id, DISABLED)
    by_student: dict[str, Member] = {}
    for m in sorted(families, key=lambda m: (m.student_id, m.case_id)):
        by_student.setdefault(m.student_id, replace(m, kind=rules.offer_for(m.classroom_id)))
    if not by_student:
        return NoOffer(line_case_id, LINE_WITHOUT_FAMILIES)
    members = tuple(by_student.values())
    kinds = {m.kind for m in members}
    kind = kinds.pop() if len(kinds) == 1 else rules.default_offer  # members keep their own
    minutes = round(sum(m.minutes_lost for m in members), 2)
    return Proposal(line_case_id, kind, True, minutes, members,
                    f"a line incident cost {len(members)} families their class")


def decision_refusal(state: str, decision: str, reason: str) -> str | None:
    """Why an agent's confirm/decline cannot be taken (None: it can)."""
    if decision not in DECISIONS:
        return "unknown_decision"
    if not reason.strip():
        return "reason_required"
    if len(reason) > MAX_REASON:
        return "reason_too_long"
    if state != "proposed":
        return "already_decided"
    return None


@dataclass(frozen=True, slots=True)
class SmsStep:
    """What to do with a confirmed offer's SMS to the family now: `send` (to `phone`, in
    `language`), `later` (quiet hours), or `skip` with the reason."""

    action: Literal["send", "later", "skip"]
    reason: str = ""
    phone: str | None = None
    language: str = "zh-CN"


def family_sms_step(student: Student | None, opted_out: set[str], now_ms: int) -> SmsStep:
    """The family hears of the offer by their channel: an SMS to the first guardian who
    prefers the phone (never in their quiet hours, never after STOP); in-app otherwise."""
    if student is None or not student.guardians:
        return SmsStep("skip", "no_family")
    first = student.guardians[0]
    if first.preferred_channel == "chat":
        return SmsStep("skip", "prefers_chat")  # the in-app message is theirs
    if not first.phone:
        return SmsStep("skip", "no_phone")
    if first.phone in opted_out:
        return SmsStep("skip", "opted_out")
    if first.is_quiet_at(now_ms):
        return SmsStep("later", "quiet_hours")
    return SmsStep("send", phone=first.phone, language=first.language)
