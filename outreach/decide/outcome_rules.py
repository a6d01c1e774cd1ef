"""How a case ended (pure): the outcome from what its timeline shows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from outreach.decide.case import CaseEvent
from outreach.decide.decision import COVERED_BY_LINE_INCIDENT, DO_NOT_CONTACT
from outreach.decide.outcomes import Outcome
from outreach.decide.stages.retry_fallback import FAMILY_REACHED_BY_CALL, REMEDY_WORKED


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What happened on a case, as far as its outcome is concerned."""

    line: bool = False
    covered: bool = False
    contacted: bool = False
    reached_by_call: bool = False
    escalated: bool = False
    do_not_contact: bool = False
    decided: Outcome | None = None  # an outcome already set (e.g. resolved_by_chat)
    remedied: bool = False  # the problem ended within the window after the one-tap fix


def facts_from(
    kind: str, events: Iterable[CaseEvent], *, outcome: Outcome | None, covered: bool = False
) -> CaseFacts:
    """Read the facts off a case's timeline (events written by the runner and callbacks)."""
    reached = escalated = dnc = remedied = False
    sending: set[str] = set()
    failed: set[str] = set()
    delivered = False
    for e in events:
        d = e.data
        if e.kind == "sending":
            sending.add(str(d.get("message_id")))
        elif e.kind == "attempt" and d.get("status") == "failed":
            failed.add(str(d.get("message_id")))
        elif e.kind == "attempt" and ("status" in d or "by" in d):  # ours, or an agent's call
            delivered = True
        elif e.kind == "call_attempt_outcome" or (
            e.kind == "fallback" and d.get("reason") == FAMILY_REACHED_BY_CALL
        ):
            reached = True
        elif e.kind == "fallback" and d.get("reason") == REMEDY_WORKED:
            remedied = True
        elif e.kind == "state" and d.get("to") == "waiting_agent":
            escalated = True
        elif e.kind in ("decision", "gate", "fallback"):
            covered = covered or d.get("reason") == COVERED_BY_LINE_INCIDENT
            dnc = dnc or d.get("reason") == DO_NOT_CONTACT
    # A send that started and never reported back may have gone out: count it.
    contacted = delivered or bool(sending - failed)
    return CaseFacts(kind == "line", covered, contacted, reached, escalated, dnc, outcome, remedied)


def outcome_for(f: CaseFacts) -> Outcome:
    """The outcome of a case whose incident ended (first rule that holds)."""
    if f.line or f.covered:
        return "infra_incident"
    if f.decided is not None:
        return f.decided
    if f.escalated:
        return "escalated"
    if f.remedied:
        return "resolved_by_remedy"
    if f.reached_by_call:
        return "resolved_by_call"
    if f.contacted:
        return "no_answer"
    if f.do_not_contact:
        return "do_not_contact"
    return "self_recovered"
