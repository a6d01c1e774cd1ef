"""The dashboard from one snapshot: tiles count the tables' rows, line incidents count as trouble;
the trends keep the last hour's peaks."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import httpx

from detectors.records import Incident
from monitor.desk.app import create_app
from monitor.desk.dashboard import Cell, Snapshot, build
from monitor.desk.trends import Trends
from tests.support.desk_scenario import T0, scripted_desk

OSLO: Cell = ("sfu-oslo", "fjordnet", "oslo")
BERGEN: Cell = ("sfu-bergen", "kystlink", "bergen")
CELLS = {"s1": OSLO, "s2": OSLO, "s3": OSLO, "s4": BERGEN}


def incident(iid: str, kind: str, **kw: object) -> Incident:
    return Incident(iid, kind, "open", 1_000, 2_000, None, {"edge": "sfu-oslo"}, {},  # type: ignore[arg-type]
                    **kw)  # type: ignore[arg-type]


def snapshot(live: list[Incident], lines: list[Incident]) -> Snapshot:
    return Snapshot(now=61_000, live=live, lines=lines, active={OSLO: 3, BERGEN: 1},
                    cell_of=CELLS.get, waits=[5_000, 200_000], held=1,
                    first_contact_ms=[10_000, 30_000],
                    suppressed=Counter({"covered_by_line_incident": 3}),
                    agents_online=2, agents_free=1)


def test_an_outage_with_no_incident_of_their_own_is_not_all_green() -> None:
    out = build(snapshot([], [incident("line-1", "line", sessions=["s1", "s2", "s3"])]), 120_000)
    assert out["tiles"] == {"live_incidents": 0, "line_incidents": 1, "sessions_in_trouble": 3,
                            "sessions_in_class": 4}
    oslo = next(c for c in out["heat_map"] if c["edge"] == "sfu-oslo")
    assert (oslo["in_trouble"], oslo["sessions"], oslo["share"]) == (3, 3, 1.0)
    assert out["line_incidents"][0]["sessions"] == 3


def test_tiles_are_the_counts_of_the_rows_and_a_session_is_counted_once() -> None:
    lag = incident("lag-1", "lag", session_id="s1", student_id="stu-1")
    drop = incident("drop-4", "disconnect", session_id="s4", student_id="stu-4")
    out = build(snapshot([lag, drop], [incident("line-1", "line", sessions=["s1", "s2"])]),
                120_000)
    tiles = out["tiles"]
    assert tiles["live_incidents"] == len(out["live_incidents"]) == 2
    assert tiles["line_incidents"] == len(out["line_incidents"]) == 1
    assert tiles["sessions_in_trouble"] == sum(c["in_trouble"] for c in out["heat_map"]) == 3
    assert (out["queue"]["depth"], out["queue"]["breached"], out["queue"]["held"]) == (2, 1, 1)
    assert out["first_contact_ms"] == {"p50": 10_000, "p95": 30_000, "count": 2}


def test_an_edge_outage_with_three_related_isp_lines_is_one_line_incident() -> None:
    edge = incident("line-edge", "line", sessions=["s1", "s2", "s3"])
    isps = [Incident(f"line-{n}", "line", "open", 1_500, 2_500, None,
                     {"isp": n, "region": "oslo"}, {"related_to": "edge:sfu-oslo"},
                     sessions=sids)
            for n, sids in (("fjordnet", ["s1"]), ("kystlink", ["s2"]), ("nordfiber", ["s3"]))]
    attached = {i.incident_id: edge for i in isps}  # as `attach_related` noted them
    out = build(replace(snapshot([], [*isps, edge]), attached=attached), 120_000)
    assert out["tiles"]["line_incidents"] == len(out["line_incidents"]) == 1
    [row] = out["line_incidents"]
    assert (row["line"], row["sessions"], row["over"]) == ("edge:sfu-oslo", 3, False)
    assert [r["line"] for r in row["related_lines"]] == [
        "isp:fjordnet/oslo", "isp:kystlink/oslo", "isp:nordfiber/oslo"]
    assert out["tiles"]["sessions_in_trouble"] == 3  # each session once


def test_the_trend_keeps_a_peak_between_two_looks_and_forgets_after_an_hour() -> None:
    t = Trends(step_ms=30_000, window_ms=3_600_000)
    t.add(0, {"incidents": 1, "queue_depth": 2})
    t.add(10_000, {"incidents": 7, "queue_depth": 0})  # the peak, seen once
    t.add(29_000, {"incidents": 2, "queue_depth": 1})
    t.add(30_000, {"incidents": 0, "first_contact_ms": 12_000})
    t.add(5_000, {"incidents": 99})  # a late sample for an older bucket is not taken
    d = t.to_dict()
    assert (d["ts"], d["incidents"], d["queue_depth"]) == ([0, 30_000], [7, 0], [2, None])
    assert d["first_contact_ms"] == [None, 12_000]
    t.add(3_630_000, {"incidents": 3})
    assert t.to_dict()["ts"] == [3_630_000]  # both older buckets are an hour old


async def test_the_desk_keeps_the_trend_from_its_records_with_nobody_looking(
        tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk:
        await desk.run_to(150)
        await desk.live.desk.apply(Incident(
            "line-edge-1", "line", "open", T0 + 140_000, T0 + 145_000, None, {"edge": "edge-1"},
            {}, sessions=["s1", "s3"]))
        await desk.live.desk.apply(Incident(
            "line-edge-1", "line", "closed", T0 + 140_000, T0 + 145_000, T0 + 150_000,
            {"edge": "edge-1"}, {}, sessions=["s1", "s3"]))
        trend = desk.live.desk.trends.to_dict()
        assert max(v for v in trend["incidents"] if v is not None) == 3  # 2 own + the line
        assert trend["sessions_in_trouble"][-1] == 3  # the bucket keeps the outage's peak
        # The first contacts (stu-1's chat at 34 s, stu-2's call at 138 s) as they happened,
        # each from the start of its problem.
        assert [v for v in trend["first_contact_ms"] if v is not None] == [16_000, 20_000]
        assert trend["queue_depth"] == [None] * len(trend["ts"])  # only a look samples it


async def test_a_metrics_scrape_samples_the_queue_depth_too(tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk:
        await desk.run_to(150)
        app = create_app(desk.live.desk, desk.users)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                     base_url="http://desk") as http:
            assert (await http.get("/metrics")).status_code == 200
        assert desk.live.desk.trends.to_dict()["queue_depth"][-1] == 2  # stu-1's and stu-2's
