"""An ISP+region line that fails only because its edge is down names that edge as related;
decided from the ISP line's own findings, so split partitions decide it the same way."""

from __future__ import annotations

import msgspec

from detectors.config import DetectionConfig
from detectors.line import LineCorrelator
from detectors.records import Incident, line_id
from detectors.telemetry import Event
from tests.detectors.test_line import school, wave
from tests.support.factory import T0, Run


def sids(events: list[Event], prefix: str) -> list[Event]:
    """The same school with its sessions renamed (two schools side by side)."""
    return [msgspec.structs.replace(e, session_id=prefix + e.session_id) for e in events]


def outage() -> list[Event]:
    """Edge e1 goes down at T0+10 s: its 6 fjordnet and 6 kystlink sessions drop. Four more
    kystlink sessions on edge e2 stay fine."""
    down = wave([f"s{i}" for i in range(6)], T0 + 10_001, step=500)
    fjord = sids(school(6, rooms=3, down=down, edge="e1", isp="fjordnet", region="oslo"), "f")
    kyst = sids(school(6, rooms=3, down=down, edge="e1", isp="kystlink", region="oslo"), "k")
    fine = sids(school(4, rooms=2, edge="e2", isp="kystlink", region="oslo"), "x")
    return sorted(fjord + kyst + fine, key=lambda e: e.ts)


def opened(incidents: list[Incident]) -> dict[str, Incident]:
    return {line_id(i.line): i for i in incidents if i.kind == "line" and i.state == "open"}


def test_the_isp_lines_of_a_down_edge_name_it_as_related() -> None:
    lines = opened(Run().feed(*outage()).incidents)
    assert sorted(lines) == ["edge:e1", "isp:fjordnet/oslo", "isp:kystlink/oslo"]
    assert "related_to" not in lines["edge:e1"].evidence
    for isp in ("isp:fjordnet/oslo", "isp:kystlink/oslo"):
        assert lines[isp].evidence["related_to"] == "edge:e1"
        assert lines[isp].evidence["edge_share"] == 1.0


def test_an_isp_line_spread_over_edges_is_its_own_incident() -> None:
    down = wave([f"s{i}" for i in range(6)], T0 + 10_001, step=500)
    a = sids(school(6, rooms=3, down={k: v for k, v in down.items() if k < "s3"}, edge="e1",
                    isp="fjordnet", region="oslo"), "a")
    b = sids(school(6, rooms=3, down={k: v for k, v in down.items() if k >= "s3"}, edge="e2",
                    isp="fjordnet", region="oslo"), "b")
    lines = opened(Run().feed(*sorted(a + b, key=lambda e: e.ts)).incidents)
    assert "related_to" not in lines["isp:fjordnet/oslo"].evidence  # 3 on e1, 3 on e2


def test_the_rule_can_be_turned_off() -> None:
    run = Run(config=DetectionConfig(line_related_share=0)).feed(*outage())
    assert all("related_to" not in i.evidence for i in run.of("line"))


def test_partitions_that_count_the_edge_and_the_isp_lines_apart_agree_with_one() -> None:
    run = Run().feed(*outage())
    by_line: list[Incident] = []
    edge_part = LineCorrelator(DetectionConfig(), by_line.append)
    isp_part = LineCorrelator(DetectionConfig(), by_line.append)
    for f in run.findings:  # each line key on its own partition, as on Kafka
        edge_key, isp_key = f.line_keys
        edge_part.feed(f, (edge_key,))
        isp_part.feed(f, (isp_key,))
    end = max(f.ts for f in run.findings) + 10 * 60_000
    edge_part.advance(end)
    isp_part.advance(end)
    run.advance(end)
    whole = {(line_id(i.line), i.state): i.evidence.get("related_to") for i in run.of("line")}
    split = {(line_id(i.line), i.state): i.evidence.get("related_to") for i in by_line
             if i.kind == "line"}
    assert split == whole
    assert whole[("isp:kystlink/oslo", "open")] == "edge:e1"
