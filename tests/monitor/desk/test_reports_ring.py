"""Reports (periods, minutes lost capped at the lesson end, lines) and the telemetry ring."""

from __future__ import annotations

from pathlib import Path

import pytest

from detectors.records import Incident
from monitor.desk.ring import TelemetryRing
from monitor.report_format import parse_since
from outreach.store.cases import CaseStore
from outreach.store.db import make_engine, upgrade
from outreach.store.queue import QueueStore
from outreach.store.reports import build_report
from tests.support.desk_scenario import T0, batch_at, join, stats

NOW = T0 + 3_600_000


def test_since_reads_spans_dates_and_epoch_ms() -> None:
    assert parse_since("90m", NOW) == NOW - 90 * 60_000
    assert parse_since("2h", NOW) == NOW - 7_200_000
    assert parse_since("7d", NOW) == NOW - 7 * 86_400_000
    assert parse_since("2026-01-01", NOW) == 1_767_225_600_000
    assert parse_since("2026-01-01T09:00:00+01:00", NOW) == T0 - 3_600_000
    assert parse_since(str(T0), NOW) == T0
    with pytest.raises(ValueError, match="cannot read"):
        parse_since("soon", NOW)


def incident(iid: str, kind: str, start: int, end: int | None, room: str = "room-a") -> Incident:
    line = {"edge": "edge-9"} if kind == "line" else {"edge": "e", "isp": "i", "region": "r"}
    return Incident(incident_id=iid, kind=kind, state="open", started_at=start,  # type: ignore[arg-type]
                    detected_at=start, ended_at=end, line=line, evidence={},
                    session_id=None if kind == "line" else "s-" + iid,
                    student_id=None if kind == "line" else "stu-" + iid,
                    classroom_id=None if kind == "line" else room,
                    sessions=["a", "b"] if kind == "line" else None)


async def test_minutes_lost_stop_at_the_lesson_end_and_line_incidents_only_count_by_line(
        tmp_path: Path) -> None:
    engine = make_engine(str(tmp_path / "r.db"))
    await upgrade(engine)
    store = CaseStore(engine, lambda: NOW)
    queue = QueueStore(engine, store, lambda: NOW)
    for inc, ctx in (
        (incident("lag-1", "lag", T0, T0 + 10 * 60_000), {"lesson_end": T0 + 4 * 60_000}),
        (incident("disconnect-2", "disconnect", T0, None), {}),  # still going: to NOW
        (incident("lag-old", "lag", T0 - 86_400_000, T0 - 86_000_000), {}),  # before --since
        (incident("line-3", "line", T0, T0 + 60_000), {"line": "edge:edge-9"}),
    ):
        case = await store.record_incident(inc, {})
        await queue.save_context(case.case_id, {"cause": inc.kind, **ctx})
    rows = await build_report(engine, "classroom", T0 - 1000, NOW)
    assert [(r.key, r.incidents, r.lesson_minutes_lost) for r in rows] == [("room-a", 2, 64.0)]
    assert rows[0].outcomes == {"open": 2}
    by_line = {r.key: r for r in await build_report(engine, "line", T0 - 1000, NOW)}
    assert by_line["edge:edge-9"].incidents == 1
    assert by_line["edge:edge-9"].lesson_minutes_lost == 0.0
    with pytest.raises(ValueError, match="unknown grouping"):
        await build_report(engine, "weather", T0, NOW)
    await engine.dispose()


def test_the_ring_keeps_the_last_points_per_session_and_forgets_the_oldest_sessions() -> None:
    ring = TelemetryRing(points=5, max_sessions=2)
    for second in range(0, 40):
        ring.feed_raw([r for r in batch_at(second) if b'"s2"' not in r])
    series = ring.series("s1")
    assert len(series["points"]["ts"]) == 5
    assert series["points"]["rtt_ms"] == [880.0] * 5
    ctx = ring.context("s1")
    assert ctx is not None and (ctx.device, ctx.teacher, ctx.edge) == ("pc", "ms-berg", "edge-1")
    assert ring.series("s1")["marks"] == [{"ts": T0, "type": "join"}]
    ring.feed_raw([join("s2", T0 + 50_000), stats("s2", T0 + 52_000, False)])
    assert ring.context("s1") is None  # the least recently fed of three sessions went
    assert ring.context("s2") is not None and ring.context("s3") is not None
    ring.feed_raw([b"not json", b'{"v": 1, "type": "stats"}'])  # bad records are ignored
    assert sorted(ring.active_by_line().values()) == [1, 1]
