"""Line incidents: many sessions of one edge or ISP+region in trouble within a minute."""

from __future__ import annotations

from detectors.config import DetectionConfig
from detectors.telemetry import Event
from tests.support.factory import T0, Run, disconnect, heartbeat, join, leave


def school(n: int, rooms: int, until: int = T0 + 120_000, down: dict[str, int] | None = None,
           up: dict[str, int] | None = None, gone: dict[str, int] | None = None,
           edge: str = "e1", isp: str = "isp1", region: str = "r1") -> list[Event]:
    """`n` live sessions on one line over `rooms` classrooms, heartbeating every 2 s until
    `until`; a session in `down` sends a disconnect at that time and nothing until its
    `up` time; a session in `gone` leaves at that time."""
    down, up, gone = down or {}, up or {}, gone or {}
    events: list[Event] = []
    for i in range(n):
        sid, room = f"s{i}", f"c{i % rooms}"
        events.append(join(sid, T0, room=room, edge=edge, isp=isp, region=region))
        for ts in range(T0 + 2000, until + 1, 2000):
            if sid in gone and ts >= gone[sid]:
                events.append(leave(sid, gone[sid], room=room))
                break
            if sid in down and down[sid] <= ts < up.get(sid, until + 1):
                continue
            events.append(heartbeat(sid, ts, room=room))
        if sid in down:
            events.append(disconnect(sid, down[sid], room=room))
    return sorted(events, key=lambda e: e.ts)


def wave(sids: list[str], t: int, step: int = 1000) -> dict[str, int]:
    """Disconnect times: one session every `step` ms from `t`."""
    return {sid: t + k * step for k, sid in enumerate(sids)}


def first(n: int, start: int = 0) -> list[str]:
    return [f"s{i}" for i in range(start, start + n)]


def test_five_sessions_of_one_edge_dropping_within_a_minute_open_one_line_incident() -> None:
    run = Run().feed(*school(10, rooms=3, down=wave(first(5), T0 + 10_001)))
    edge = [i for i in run.of("line", "open") if i.line == {"edge": "e1"}]
    assert len(edge) == 1
    inc = edge[0]
    assert inc.started_at == T0 + 10_001
    assert inc.detected_at == T0 + 14_001
    assert inc.sessions == [f"s{i}" for i in range(5)]
    assert inc.evidence["active_sessions"] == 10
    assert inc.evidence["classrooms"] == 3


def test_both_the_edge_line_and_the_isp_region_line_are_checked() -> None:
    run = Run().feed(*school(10, rooms=3, down=wave(first(5), T0 + 10_001)))
    assert sorted(str(sorted(i.line)) for i in run.of("line", "open")) == [
        "['edge']", "['isp', 'region']"]


def test_four_sessions_are_not_enough() -> None:
    run = Run().feed(*school(10, rooms=3, down=wave(first(4), T0 + 10_001)))
    assert run.of("line") == []


def test_a_small_share_of_a_big_line_is_not_a_line_incident() -> None:
    run = Run().feed(*school(20, rooms=5, down=wave(first(5), T0 + 10_001)))
    assert run.of("line") == []  # 5 of 20 is 25 % < 30 %


def test_one_classroom_alone_is_not_a_line_incident() -> None:
    run = Run().feed(*school(6, rooms=1, down=wave(first(6), T0 + 10_001)))
    assert run.of("line") == []


def test_episodes_more_than_a_minute_apart_do_not_add_up() -> None:
    run = Run().feed(*school(10, rooms=3, down=wave(first(6), T0 + 10_001, step=20_000),
                            up={sid: T0 + 10_001 + k * 20_000 + 10_000
                                for k, sid in enumerate(first(6))}))
    assert run.of("line") == []


def test_the_incident_grows_with_later_sessions_and_closes_when_fewer_than_five_remain() -> None:
    down = wave(first(6), T0 + 10_001)
    up = {"s0": T0 + 30_000, "s1": T0 + 32_000}  # two recover: 4 still down < 5
    run = Run().feed(*school(10, rooms=3, until=T0 + 92_000, down=down, up=up))
    edge = [i for i in run.incidents if i.kind == "line" and i.line == {"edge": "e1"}]
    assert [i.state for i in edge] == ["open", "update", "closed"]
    assert edge[0].sessions == first(5) and edge[0].session_count == 5
    assert (edge[1].sessions, edge[1].session_count) == (["s5"], 6)  # only the one added
    assert (edge[2].sessions, edge[2].session_count) == ([], 6)
    # It winds down when s1's disconnect ends and closes after the 60 s rejoin gap.
    assert edge[-1].ended_at == T0 + 32_000


def test_it_stays_open_during_the_rejoin_gap() -> None:
    down = wave(first(6), T0 + 10_001)
    up = {"s0": T0 + 30_000, "s1": T0 + 32_000}
    run = Run().feed(*school(10, rooms=3, until=T0 + 90_000, down=down, up=up))
    assert not [i for i in run.of("line", "closed") if i.line == {"edge": "e1"}]


def test_a_new_wave_within_the_rejoin_gap_joins_the_same_incident() -> None:
    down = {**wave(first(5), T0 + 10_001), **wave(first(5, 5), T0 + 40_001)}
    up = {sid: T0 + 20_000 for sid in first(5)}
    run = Run().feed(*school(12, rooms=3, down=down, up=up))
    edge = [i for i in run.incidents if i.kind == "line" and i.line == {"edge": "e1"}]
    assert len({i.incident_id for i in edge}) == 1
    assert [i.state for i in edge if i.state != "update"] == ["open"]


def test_left_sessions_do_not_count_as_active() -> None:
    gone = {f"s{i}": T0 + 2000 for i in range(10, 20)}
    run = Run().feed(*school(20, rooms=5, gone=gone, down=wave(first(5), T0 + 10_001)))
    assert len(run.of("line", "open")) == 2  # 5 of 10 active = 50 %


def test_thresholds_are_configuration() -> None:
    cfg = DetectionConfig(line_min_sessions=3, line_min_classrooms=1)
    run = Run(cfg).feed(*school(6, rooms=1, down=wave(first(3), T0 + 10_001)))
    assert len(run.of("line", "open")) == 2


def test_a_finding_after_the_rejoin_gap_does_not_join_an_incident_that_was_due_to_close() -> None:
    from detectors.findings import Finding
    from detectors.line import LineCorrelator
    from detectors.records import Incident

    out: list[Incident] = []
    c = LineCorrelator(DetectionConfig(line_min_sessions=2, line_min_classrooms=1), out.append)

    def f(kind: str, sid: str, ts: int, episode: str = "disconnect") -> Finding:
        return Finding(kind, sid, "c1", "e1", "isp1", "r1", ts,  # type: ignore[arg-type]
                       ts, episode, f"d-{sid}")

    for sid in ("a", "b", "c"):
        c.feed(f("join", sid, T0))
    c.feed(f("episode_start", "a", T0 + 1000))
    c.feed(f("episode_start", "b", T0 + 2000))
    c.feed(f("episode_end", "a", T0 + 5000))  # 1 left in trouble < 2: winding down
    # Nothing happens until a late episode start 70 s later: the incident closes first.
    c.feed(f("episode_start", "c", T0 + 75_000))
    states = [(i.line.get("edge") is not None, i.state) for i in out]
    assert (True, "closed") in states
    closed_edge = next(i for i in out if i.state == "closed" and "edge" in i.line)
    assert closed_edge.sessions == [] and closed_edge.ended_at == T0 + 5000  # none added
    assert closed_edge.session_count == 2
