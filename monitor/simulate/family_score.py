"""How families fared (contract 1.1), scored against the simulator's ground truth.

What a family feels is its case, not the incidents: was a lasting problem answered
(contacted in its own decision, or on a case that reached the family), did a student
who dropped out after chat-only contact (and was still out when it was decided) get a
call, an SMS or a technician, did a
family whose problems keep coming back reach a technician in time, and how long
from the start of the problem to the first contact.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.simulate.score import Rec, matches, opened

LONG_MS = 30_000
LINE_FAULTS = frozenset({"edge_outage", "isp_degradation"})
CONTACTS = frozenset({"chat", "call", "sms", "agent_queue"})
ESCALATIONS = frozenset({"call", "sms", "agent_queue"})


@dataclass(slots=True)
class Share:
    """How many of `total` met the rule."""

    met: int = 0
    total: int = 0

    @property
    def value(self) -> float:
        """The share met (1.0 when there is nothing to meet)."""
        return self.met / self.total if self.total else 1.0

    def add(self, ok: bool) -> None:
        """Count one more case of the rule."""
        self.total += 1
        self.met += ok


@dataclass(slots=True)
class FamilyScore:
    """The family figures of one scored day."""

    long_answered: Share = field(default_factory=Share)
    drops_escalated: Share = field(default_factory=Share)
    chronic_in_time: Share = field(default_factory=Share)
    first_contact_ms: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly figures."""
        delays = sorted(self.first_contact_ms)

        def q(p: float) -> int | None:
            return delays[min(len(delays) - 1, int(p * len(delays)))] if delays else None

        return {
            "long_problems_answered": round(self.long_answered.value, 4),
            "long_problems": self.long_answered.total,
            "drops_after_chat_escalated": round(self.drops_escalated.value, 4),
            "drops_after_chat": self.drops_escalated.total,
            "chronic_families_to_technician_in_time": round(self.chronic_in_time.value, 4),
            "chronic_families": self.chronic_in_time.total,
            "first_contact_p50_ms": statistics.median(delays) if delays else None,
            "first_contact_p90_ms": q(0.9),
        }


def _contacts_by_case(decisions: Iterable[Rec]) -> dict[str, list[tuple[int, str]]]:
    by_case: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for d in decisions:
        if d["action"] in CONTACTS:
            by_case[str(d["case_id"])].append((int(d["decided_at"]), str(d["action"])))
    for contacts in by_case.values():
        contacts.sort()
    return by_case


def _problems_by_student(pairs: list[tuple[Rec, Rec]]) -> dict[str, list[tuple[Rec, Rec]]]:
    out: dict[str, list[tuple[Rec, Rec]]] = defaultdict(list)
    for truth, found in pairs:
        if truth.get("fault") not in LINE_FAULTS:
            out[str(found.get("student_id"))].append((truth, found))
    for rows in out.values():
        rows.sort(key=lambda p: int(p[0]["started_at"]))
    return out


def family_score(records: Iterable[Rec], truth: Iterable[Rec],
                 window_ms: int = 600_000, recurring: int = 3) -> FamilyScore:
    """Score incident and outreach records (contract 1.1) against the day's truth."""
    records = list(records)
    decisions = [r for r in records if r.get("record") == "outreach"]
    decision_of: Mapping[str, Rec] = {str(d["incident_id"]): d for d in decisions}
    contacts = _contacts_by_case(decisions)
    pairs = [p for key, (_, _, ps) in matches(opened(records), truth).items()
             if key[0] in ("lag", "disconnect") for p in ps]
    result = FamilyScore()
    for student_rows in _problems_by_student(pairs).values():
        for truth_row, found in student_rows:
            d = decision_of.get(str(found["incident_id"]))
            if d is None or d["reason"] == "covered_by_line_incident":
                continue
            start, end = int(truth_row["started_at"]), truth_row.get("ended_at")
            case = contacts.get(str(d["case_id"]), [])
            if end is None or int(end) - start >= LONG_MS:
                result.long_answered.add(d["action"] in CONTACTS or bool(case))
            before = [a for at, a in case if at < int(d["decided_at"])]
            still_out = end is None or int(end) > int(d["decided_at"])
            if found["kind"] == "disconnect" and still_out and before and set(before) == {"chat"}:
                later = {a for at, a in case if at >= int(d["decided_at"])}
                result.drops_escalated.add(bool(later & ESCALATIONS))
        own = [(t, f) for t, f in student_rows
               if decision_of.get(str(f["incident_id"]), {}).get("reason")
               != "covered_by_line_incident"]  # line coverage wins over recurrence
        _chronic(own, decision_of, contacts, window_ms, recurring, result)
    firsts: dict[str, tuple[int, int]] = {}  # case -> first contact at, its problem's start
    for truth_row, found in pairs:
        d = decision_of.get(str(found["incident_id"]))
        if d is not None and d["action"] in CONTACTS:
            at, case_id = int(d["decided_at"]), str(d["case_id"])
            if case_id not in firsts or at < firsts[case_id][0]:
                firsts[case_id] = (at, int(truth_row["started_at"]))
    result.first_contact_ms = [max(0, at - start) for at, start in firsts.values()]
    return result


def _chronic(rows: list[tuple[Rec, Rec]], decision_of: Mapping[str, Rec],
             contacts: Mapping[str, list[tuple[int, str]]], window_ms: int, recurring: int,
             result: FamilyScore) -> None:
    """A family with `recurring` problems in the window: technician within a minute of the last."""
    starts = [int(t["started_at"]) for t, _ in rows]
    for k in range(recurring - 1, len(starts)):
        if starts[k] - starts[k - recurring + 1] > window_ms:
            continue
        third = starts[k]
        cases = {str(decision_of[str(f["incident_id"])]["case_id"])
                 for _, f in rows[: k + 1] if str(f["incident_id"]) in decision_of}
        queued = [at for c in cases for at, a in contacts.get(c, []) if a == "agent_queue"]
        result.chronic_in_time.add(any(at < third + 60_000 for at in queued))
        return
