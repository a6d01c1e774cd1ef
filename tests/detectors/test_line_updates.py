"""A line incident's updates are bounded: coalesced in time, naming only the sessions added."""

from __future__ import annotations

import orjson

from detectors.config import DetectionConfig
from detectors.line import LineCorrelator
from detectors.records import Incident, encode
from tests.support.factory import T0
from tests.support.line_outage import finding, outage

CFG = DetectionConfig(line_min_sessions=5, line_min_classrooms=2, line_update_interval_ms=2_000,
                      line_update_max_sessions=500)


def edge_records(out: list[Incident], edge: str = "e1") -> list[Incident]:
    return [i for i in out if i.line == {"edge": edge}]


def correlator(config: DetectionConfig = CFG) -> tuple[LineCorrelator, list[Incident]]:
    out: list[Incident] = []
    return LineCorrelator(config, out.append), out


def test_a_5000_session_outage_sends_few_small_records_that_add_up_to_every_session() -> None:
    c, out = correlator()
    sids = outage(c, 5_000, T0 + 10_000, every_ms=20)  # 5,000 drops over 100 s
    for k, sid in enumerate(sids):
        c.feed(finding("episode_end", sid, T0 + 200_000 + k))
    c.advance(T0 + 400_000)
    edge = edge_records(out)
    states = [i.state for i in edge]
    assert states[0] == "open" and states[-1] == "closed" and set(states[1:-1]) == {"update"}
    # Bounded in count: about one per 2 s of outage (100 s), not one per session (5,000).
    assert len(edge) <= 2 + 100_000 // 2_000 + 1
    # Bounded in size: no update or closed record names more than the cap, nor grows.
    later = edge[1:]
    assert max(len(i.sessions or []) for i in later) <= 500
    sizes = [len(encode(i)) for i in later]
    assert max(sizes) < 20_000
    # Together they name every session once, and say how many so far.
    named = [sid for i in edge for sid in i.sessions or []]
    assert sorted(named) == sorted(sids) and len(named) == len(set(named))
    counts = [i.session_count for i in edge]
    assert counts == sorted(counts) and counts[-1] == 5_000  # type: ignore[type-var]
    assert orjson.loads(encode(edge[-1]))["session_count"] == 5_000


def test_updates_come_at_most_once_per_interval_unless_a_record_is_full() -> None:
    c, out = correlator()
    outage(c, 400, T0 + 10_000, every_ms=20)  # 400 drops over 8 s: never a full record
    c.advance(T0 + 60_000)
    edge = edge_records(out)
    times = [i.evidence.get("sessions_affected") for i in edge]
    assert times[-1] == 400
    updates = [i for i in edge if i.state == "update"]
    assert 2 <= len(updates) <= 8 // 2 + 2  # one per 2 s interval (and the first at once)


def test_a_burst_bigger_than_a_record_goes_out_at_once_in_full_records() -> None:
    c, out = correlator(DetectionConfig(line_min_sessions=5, line_min_classrooms=2,
                                        line_update_interval_ms=60_000,
                                        line_update_max_sessions=100))
    outage(c, 1_000, T0 + 10_000, every_ms=1)  # 1,000 within one second
    edge = edge_records(out)
    full = [i for i in edge if i.state == "update"]
    assert full and all(len(i.sessions or []) == 100 for i in full)


def test_the_first_change_after_a_quiet_interval_goes_out_at_once() -> None:
    c, out = correlator()
    outage(c, 10, T0 + 10_000, every_ms=100)  # opens at the 5th, the rest within 0.6 s
    c.feed(finding("join", "late", T0, room="c9"))
    c.feed(finding("episode_start", "late", T0 + 30_000, room="c9"))
    last = edge_records(out)[-1]
    assert (last.state, last.sessions) == ("update", ["late"])


def test_sessions_added_just_before_the_close_ride_on_the_closed_record() -> None:
    c, out = correlator(DetectionConfig(line_min_sessions=2, line_min_classrooms=1,
                                        line_update_interval_ms=120_000))
    for sid in ("a", "b", "c", "d"):
        c.feed(finding("join", sid, T0))
    c.feed(finding("episode_start", "a", T0 + 1000))
    c.feed(finding("episode_start", "b", T0 + 2000))  # opens
    c.feed(finding("episode_start", "c", T0 + 2500))  # within the interval: waits
    c.feed(finding("episode_start", "d", T0 + 3000))
    for sid in ("a", "b", "c"):
        c.feed(finding("episode_end", sid, T0 + 4000))  # 1 left in trouble: winding down
    c.advance(T0 + 70_000)  # the rejoin gap ends before the update's interval
    edge = edge_records(out)
    assert [(i.state, i.sessions, i.session_count) for i in edge] == [
        ("open", ["a", "b"], 2), ("closed", ["c", "d"], 4)]
