"""A line's surge: many sessions' problems beginning within a few seconds, before any verdict."""

from __future__ import annotations

from dataclasses import replace

from detectors.records import Incident
from outreach.contact.line_surge import LineSurge, line_keys
from tests.support.line_fakes import line_incident
from tests.support.live_support import T0, decision, incident

EDGE_1 = {"edge": "e1", "isp": "isp-a", "region": "north"}


def drop(n: int, *, start: int = T0, line: dict[str, str] | None = None,
         state: str = "open") -> Incident:  # fmt: skip
    """Student n's drop on `line` (edge e1, isp-a north unless said)."""
    inc = incident(1, state, student=f"stu-{n}", start=start)
    return replace(inc, line=dict(EDGE_1 if line is None else line))


def test_a_line_with_enough_sessions_starting_together_surges() -> None:
    surge = LineSurge(sessions=5, window_ms=5_000)
    drops = [drop(n, start=T0 + 100 * n) for n in range(5)]
    surge.note(drops[:4])
    assert not any(surge.surging(d) for d in drops[:4])  # four: not yet
    surge.note(drops[4:])
    assert all(surge.surging(d) for d in drops)  # the fifth makes it one


def test_problems_spread_over_more_than_the_window_are_no_surge() -> None:
    surge = LineSurge(sessions=5, window_ms=5_000)
    drops = [drop(n, start=T0 + 2_000 * n) for n in range(10)]  # one every 2 s
    surge.note(drops)
    assert not any(surge.surging(d) for d in drops)


def test_one_session_counts_once_however_many_records() -> None:
    surge = LineSurge(sessions=3, window_ms=5_000)
    again = [drop(1, start=T0), drop(1, start=T0 + 10), drop(2, start=T0 + 20)]
    surge.note(again)
    assert not surge.surging(again[-1])


def test_either_line_of_the_session_may_surge() -> None:
    surge = LineSurge(sessions=3, window_ms=5_000)
    # Three sessions of isp-b south on three edges: the ISP's line surges, no edge does.
    drops = [drop(n, line={"edge": f"e{n}", "isp": "isp-b", "region": "south"})
             for n in range(3)]  # fmt: skip
    surge.note(drops)
    assert all(surge.surging(d) for d in drops)
    elsewhere = drop(9, line={"edge": "e1", "isp": "isp-c", "region": "west"})
    surge.note([elsewhere])
    assert not surge.surging(elsewhere)


def test_a_late_problem_after_the_surge_is_ordinary() -> None:
    surge = LineSurge(sessions=3, window_ms=5_000)
    surge.note([drop(n, start=T0) for n in range(3)])
    late = drop(7, start=T0 + 60_000)
    surge.note([late])
    assert not surge.surging(late)


def test_only_opening_records_of_sessions_count_and_surge() -> None:
    surge = LineSurge(sessions=2, window_ms=5_000)
    opened = [drop(n) for n in range(2)]
    surge.note(opened)
    closed = drop(0, state="closed")
    line = line_incident("open", ["sess-stu-0-room-1"], start=T0)
    assert surge.surging(opened[0])
    assert not surge.surging(closed)  # its family's opening record decides where it goes
    assert not surge.surging(line)  # a line record waits for its own reason
    assert not surge.surging(decision(opened[0], "chat"))


def test_nothing_surges_when_turned_off() -> None:
    surge = LineSurge(sessions=0)
    drops = [drop(n) for n in range(500)]
    surge.note(drops)
    assert not any(surge.surging(d) for d in drops)


def test_a_record_without_a_line_is_on_no_line() -> None:
    assert line_keys({}) == []
    surge = LineSurge(sessions=2, window_ms=5_000)
    nowhere = [drop(n, line={}) for n in range(5)]
    surge.note(nowhere)
    assert not any(surge.surging(d) for d in nowhere)
    assert line_keys(EDGE_1) == ["edge:e1", "isp:isp-a/north"]


def test_an_edges_surge_leaves_its_isps_other_edges_ordinary() -> None:
    surge = LineSurge(sessions=5, window_ms=5_000)
    # Edge e1 fails: its sessions are on isp-a north, the ISP's line sees them all.
    outage = [drop(n, start=T0 + 10 * n) for n in range(20)]
    surge.note(outage)
    neighbour = drop(99, start=T0 + 500, line={"edge": "e2", "isp": "isp-a", "region": "north"})
    surge.note([neighbour])
    assert all(surge.surging(d) for d in outage)
    assert not surge.surging(neighbour)  # a lag on e2, not part of e1's outage
    # Should the ISP itself fail (its sessions on many edges), its line surges.
    isp_down = [drop(200 + n, start=T0 + 600 + n,
                     line={"edge": f"e{3 + n}", "isp": "isp-a", "region": "north"})
                for n in range(5)]  # fmt: skip
    surge.note(isp_down)
    assert all(surge.surging(d) for d in isp_down)
