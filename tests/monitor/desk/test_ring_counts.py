"""The ring's live sessions per line are kept as telemetry arrives and always equal a full count."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.desk.ring import TelemetryRing

T0 = 1_780_000_000_000
LINES = [("edge-1", "fjordnet", "oslo"), ("edge-2", "kystlink", "oslo"),
         ("edge-1", "nett", "bergen")]


def _join(sid: int, ts: int, line: int) -> bytes:
    edge, isp, region = LINES[line]
    return orjson.dumps({
        "v": 1, "type": "join", "ts": ts, "session_id": f"s{sid}", "student_id": f"stu-{sid}",
        "classroom_id": "room-a",
        "client": {"app_version": "5.1.3", "os": "win", "device": "pc"},
        "network": {"conn": "wifi", "isp": isp, "region": region, "edge": edge}})


def _leave(sid: int, ts: int) -> bytes:
    return orjson.dumps({"v": 1, "type": "leave", "ts": ts, "session_id": f"s{sid}",
                         "student_id": f"stu-{sid}", "classroom_id": "room-a"})


def _stats(sid: int, ts: int) -> bytes:
    return orjson.dumps({"v": 1, "type": "stats", "ts": ts, "session_id": f"s{sid}",
                         "student_id": f"stu-{sid}", "classroom_id": "room-a",
                         "interval_ms": 2000, "rtt_ms": 50.0, "loss_pct": 0.0, "jitter_ms": 2.0,
                         "recv_kbps": 900.0, "fps": 25.0, "freeze_ms": 0, "audio_stall_ms": 0})


EVENT = st.tuples(st.sampled_from(["join", "leave", "stats"]), st.integers(0, 7),
                  st.integers(0, len(LINES) - 1))


@settings(max_examples=150, deadline=None)
@given(batches=st.lists(st.lists(EVENT, max_size=8), max_size=12),
       max_sessions=st.integers(1, 6))
def test_incremental_counts_equal_a_full_scan(batches: list[list[tuple[str, int, int]]],
                                             max_sessions: int) -> None:
    ring = TelemetryRing(max_sessions=max_sessions)
    ts = T0
    for batch in batches:
        raws = []
        for kind, sid, line in batch:
            ts += 1000
            raws.append(_join(sid, ts, line) if kind == "join" else
                        _leave(sid, ts) if kind == "leave" else _stats(sid, ts))
        ring.feed_raw(raws)
        assert ring.active_by_line() == ring.count_active_by_line()
        assert ring.in_class() == sum(ring.count_active_by_line().values())
    ring.clear()
    assert ring.active_by_line() == {} and ring.in_class() == 0


def test_a_rejoin_on_another_line_moves_the_session() -> None:
    ring = TelemetryRing()
    ring.feed_raw([_join(1, T0, 0), _join(2, T0, 0)])
    assert ring.active_by_line() == {LINES[0]: 2}
    ring.feed_raw([_join(1, T0 + 5000, 1)])
    assert ring.active_by_line() == {LINES[0]: 1, LINES[1]: 1}
    ring.feed_raw([_leave(2, T0 + 6000), _leave(2, T0 + 7000)])  # a repeated leave counts once
    assert ring.active_by_line() == {LINES[1]: 1}


def test_the_count_version_moves_on_joins_and_leaves_not_on_stats() -> None:
    ring = TelemetryRing()
    ring.feed_raw([_join(1, T0, 0), _join(2, T0, 1)])
    version = ring.counts_version
    ring.feed_raw([_stats(1, T0 + 2000), _stats(2, T0 + 2000)] * 50)
    assert ring.counts_version == version and ring.in_class() == 2
    ring.feed_raw([_leave(1, T0 + 4000)])
    assert ring.counts_version > version and ring.in_class() == 1
