"""A big line outage fed straight to the line correlator (findings, not telemetry)."""

from __future__ import annotations

from detectors.config import DetectionConfig
from detectors.findings import Finding
from detectors.line import LineCorrelator
from detectors.records import Incident
from outreach.decide.case import CaseEvent
from outreach.store.cases import CaseStore
from tests.support.factory import T0


def finding(kind: str, sid: str, ts: int, room: str = "c1", edge: str = "e1") -> Finding:
    """One finding of a session on edge `edge` (ISP isp1, region r1)."""
    return Finding(kind, sid, room, edge, "isp1", "r1", ts,  # type: ignore[arg-type]
                   ts, "disconnect", f"d-{sid}")


def outage(c: LineCorrelator, n: int, start: int, every_ms: int, edge: str = "e1") -> list[str]:
    """`n` sessions in 50 classrooms join, then drop one every `every_ms` from `start`."""
    sids = [f"{edge}-s{i}" for i in range(n)]
    for k, sid in enumerate(sids):
        c.feed(finding("join", sid, T0, room=f"c{k % 50}", edge=edge))
    for k, sid in enumerate(sids):
        c.feed(finding("episode_start", sid, start + k * every_ms, room=f"c{k % 50}", edge=edge))
    return sids


def outage_records(n: int = 5_000, every_ms: int = 20, end: int = T0 + 200_000,
                   config: DetectionConfig | None = None) -> list[Incident]:
    """The edge line incident's records of an `n`-session outage that heals at `end`."""
    out: list[Incident] = []
    c = LineCorrelator(config or DetectionConfig(), out.append)
    sids = outage(c, n, T0 + 10_000, every_ms)
    for k, sid in enumerate(sids):
        c.feed(finding("episode_end", sid, end + k))
    c.advance(end + 10 * 60_000)
    return [i for i in out if i.line == {"edge": "e1"}]


class CountingCases:
    """Counts the reads of whole case timelines on a `CaseStore` (wraps its `timeline`)."""

    def __init__(self, store: CaseStore) -> None:
        self.reads: dict[str, int] = {}
        self._timeline = store.timeline

        async def timeline(case_id: str) -> list[CaseEvent]:
            self.reads[case_id] = self.reads.get(case_id, 0) + 1
            return await self._timeline(case_id)

        store.timeline = timeline  # type: ignore[method-assign]
