"""A poll's order: ordinary families first, a family's records together, a covered family
never taken for an ordinary one (issue 20)."""

from __future__ import annotations

from detectors.records import Incident, Outreach
from outreach.contact.lines import LineBook
from outreach.contact.poll_order import note_lines, ordinary_first, poll_order
from outreach.decide.decision import COVERED_BY_LINE_INCIDENT
from tests.support.line_fakes import line_incident
from tests.support.live_support import T0, decision, incident

Record = Incident | Outreach


def ids(records: list[Record]) -> list[str]:
    """Each record as `<incident id>` (incident) or `d:<incident id>` (decision)."""
    return [("d:" if isinstance(r, Outreach) else "") + r.incident_id for r in records]


def drop(student: str, n: int = 1, *, room: str = "room-1") -> Incident:
    return incident(n, student=student, room=room, start=T0 + 1_000)


def test_ordinary_families_go_first_and_both_runs_keep_arrival_order() -> None:
    a, b, c, o1, o2 = (drop(s) for s in ("stu-a", "stu-b", "stu-c", "stu-o1", "stu-o2"))
    line = line_incident("open", [a.session_id or "", b.session_id or "", c.session_id or ""],
                         start=T0)
    notice = [decision(x, "chat", COVERED_BY_LINE_INCIDENT) for x in (a, b, c)]
    first, later = poll_order([line, a, o1, b, c, o2, *notice[:2], decision(o1, "call"),
                               notice[2], decision(o2, "sms")], LineBook(60_000))
    assert ids(first) == [o1.incident_id, o2.incident_id, "d:" + o1.incident_id,
                          "d:" + o2.incident_id]
    assert ids(later) == [line.incident_id, a.incident_id, b.incident_id, c.incident_id,
                          *("d:" + x.incident_id for x in (a, b, c))]


def test_a_drop_before_the_line_record_that_covers_it_is_not_ordinary() -> None:
    covered, other = drop("stu-1"), drop("stu-2")
    line = line_incident("open", [covered.session_id or ""], start=T0)
    book = LineBook(60_000)
    first, later = poll_order([covered, other, line], book)
    assert ids(first) == [other.incident_id]
    assert ids(later) == [covered.incident_id, line.incident_id]
    assert book.covering(covered.session_id, covered.started_at) == line.incident_id


def test_a_family_s_records_stay_together_when_one_of_them_is_covered() -> None:
    # stu-1 lags in another classroom too: that session is not on the line, but the family's
    # records go with its covered one, in their order.
    covered, elsewhere = drop("stu-1", 1), drop("stu-1", 2, room="room-2")
    line = line_incident("open", [covered.session_id or ""], start=T0)
    first, later = poll_order([elsewhere, decision(elsewhere, "call"), line, covered],
                              LineBook(60_000))
    assert first == []
    assert ids(later) == [elsewhere.incident_id, "d:" + elsewhere.incident_id,
                          line.incident_id, covered.incident_id]


def test_decisions_of_covered_families_wait_even_without_their_incident_in_the_poll() -> None:
    covered, other, late = drop("stu-1"), drop("stu-2"), drop("stu-3")
    book = LineBook(60_000)
    note_lines([line_incident("open", [late.session_id or ""], start=T0)], book)  # a poll before
    decisions = [decision(covered, "chat", COVERED_BY_LINE_INCIDENT), decision(late, "call"),
                 decision(other, "call")]
    first, later = ordinary_first(decisions, book)
    # The notice by its reason; stu-3's call because a line incident covers its session.
    assert ids(first) == ["d:" + other.incident_id]
    assert ids(later) == ["d:" + covered.incident_id, "d:" + late.incident_id]


def test_a_problem_after_the_line_incident_is_over_is_ordinary_again() -> None:
    session = drop("stu-1").session_id or ""
    line = line_incident("closed", [session], start=T0, ended=T0 + 10_000)
    after = incident(2, student="stu-1", start=T0 + 10_000 + 61_000)
    first, later = poll_order([line, after], LineBook(60_000))
    assert ids(first) == [after.incident_id] and ids(later) == [line.incident_id]


def test_noting_a_poll_s_line_records_again_changes_nothing() -> None:
    s1, s2 = drop("stu-1").session_id or "", drop("stu-2").session_id or ""
    opened = line_incident("open", [s1], start=T0)
    added = line_incident("update", [s2], start=T0)
    closed = line_incident("closed", [], start=T0, ended=T0 + 10_000)
    book = LineBook(0)
    note_lines([opened, added, closed], book)
    for record in (opened, added, closed):  # the runner takes them again, in turn
        book.take(record)
    for sid in (s1, s2):
        assert book.covering(sid, T0 + 5_000) == opened.incident_id
        assert not book.covers(sid, T0 + 10_001)
