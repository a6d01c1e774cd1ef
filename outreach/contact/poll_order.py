"""Which of a poll's records go first: ordinary families' before those a line incident covers.

An outage brings a thousand covered families at once (they get the in-app notice only);
the problems of other classrooms arriving meanwhile must not wait behind them. A poll's
line records are made known to the line book first (`note_lines`), so a family whose
session a line record later in the same poll covers is never taken for an ordinary one.
Then the poll goes in two runs: every record of a family none of whose records is
covered, then the rest (line records, covered families), each run in arrival order: one
family's records always stay together and in order. Decisions are split the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from detectors.records import Incident, Outreach
from outreach.contact.lines import LineBook
from outreach.decide.decision import COVERED_BY_LINE_INCIDENT

R = TypeVar("R", bound=Incident | Outreach)


def family_of(record: Incident | Outreach) -> str:
    """The family a record is about (its student; else its session; else its incident)."""
    if record.student_id:
        return f"student:{record.student_id}"
    if record.session_id:
        return f"session:{record.session_id}"
    return f"incident:{record.incident_id}"


def note_lines(records: Sequence[Incident | Outreach], book: LineBook) -> None:
    """Make the poll's line records known to `book` (taking one again later changes nothing)."""
    for record in records:
        if isinstance(record, Incident) and record.kind == "line":
            book.take(record)


def covered(record: Incident | Outreach, book: LineBook) -> bool:
    """Is this record a line's, or about a family a line incident covers (as far as known)?"""
    if isinstance(record, Outreach):
        return record.reason == COVERED_BY_LINE_INCIDENT or book.ever_covered(record.session_id)
    if record.kind == "line":
        return True
    return book.covers(record.session_id, record.started_at)


def split(records: Sequence[R], held: Callable[[R], bool]) -> tuple[list[R], list[R]]:
    """Records of families with none `held`, and the rest (each run in arrival order)."""
    later = {family_of(r) for r in records if held(r)}
    return ([r for r in records if family_of(r) not in later],
            [r for r in records if family_of(r) in later])


def ordinary_first(records: Sequence[R], book: LineBook) -> tuple[list[R], list[R]]:
    """Ordinary families' records (or decisions), and the line's and covered families'."""
    return split(records, lambda r: covered(r, book))


def poll_order(records: Sequence[R], book: LineBook) -> tuple[list[R], list[R]]:
    """A poll's records in two runs, ordinary families' first (noting its lines in `book`)."""
    note_lines(records, book)
    return ordinary_first(records, book)
