"""The console's outage banner keeps one item per outage whatever the order of the records: an
ISP line that comes before its edge's incident moves under it, and stays under it when the
edge's incident closes first, until it closes too."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from detectors.records import Incident, case_id_for
from monitor.desk.views import outages
from tests.support.desk_scenario import T0, scripted_desk

EDGE = Incident("line-edge-1", "line", "open", T0 + 140_000, T0 + 145_000, None,
                {"edge": "edge-1"}, {}, sessions=["s1", "s3"])
ISP = Incident("line-isp-1", "line", "open", T0 + 141_000, T0 + 144_000, None,
               {"isp": "fjordnet", "region": "oslo"}, {"related_to": "edge:edge-1"},
               sessions=["s1", "s3"])


def closed(inc: Incident) -> Incident:
    return replace(inc, state="closed", ended_at=T0 + 170_000, sessions=[])


async def test_the_banner_holds_one_item_in_either_order(tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk:
        d = desk.live.desk
        await d.apply(ISP)  # the ISP line's record comes first: an outage of its own so far
        assert [(o["line"], o["related_lines"]) for o in outages(d)] == [
            ("isp:fjordnet/oslo", [])]
        await d.apply(EDGE)
        [one] = outages(d)
        assert (one["line"], one["case_id"], one["related_lines"], one["sessions"]) == (
            "edge:edge-1", case_id_for(EDGE.incident_id), ["isp:fjordnet/oslo"], 2)
        await d.apply(closed(EDGE))  # the edge is back first: the ISP line stays in its outage
        [one] = outages(d)
        assert (one["line"], one["case_id"], one["related_lines"]) == (
            "edge:edge-1", case_id_for(EDGE.incident_id), ["isp:fjordnet/oslo"])
        await d.apply(closed(ISP))
        assert outages(d) == []
