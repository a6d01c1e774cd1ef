"""`firstcall report --by line`: an edge outage is one line incident, its related ISP+region
lines (they failed only because the edge was down) named under it in the table and the CSV."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import pytest

from detectors.records import Incident
from monitor.cli import main
from outreach.store.cases import CaseStore
from outreach.store.db import make_engine, upgrade
from outreach.store.line_problems import LineProblems
from outreach.store.queue import QueueStore

T0 = 1_779_998_400_000
MIN = 60_000
EDGE = "edge:sfu-1"
RELATED = ("isp:fjordnet/oslo", "isp:kystlink/oslo")
ALONE = "isp:telia/bergen"  # an ISP line whose edge was not down: an incident of its own


def line_incident(iid: str, minute: int) -> Incident:
    return Incident(incident_id=iid, kind="line", state="open", started_at=T0 + minute * MIN,
                    detected_at=T0 + minute * MIN, ended_at=None, line={}, evidence={},
                    sessions=["a", "b"])


async def outage(db: Path) -> None:
    """The edge's line incident, two ISP lines attached under it as related, one not."""
    engine = make_engine(str(db))
    await upgrade(engine)
    store = CaseStore(engine, lambda: T0 + 30 * MIN)
    queue = QueueStore(engine, store, lambda: T0 + 30 * MIN)
    problems = LineProblems(store)
    edge = await store.record_incident(line_incident("line-edge", 1), {})
    await queue.save_context(edge.case_id, {"cause": "line", "line": EDGE})
    for n, line in enumerate((*RELATED, ALONE)):
        case = await store.record_incident(line_incident(f"line-isp-{n}", 2 + n), {})
        await queue.save_context(case.case_id, {"cause": "line", "line": line})
        if line != ALONE:
            await problems.attach(edge.case_id, case.case_id, "related_line", T0 + 5 * MIN)
    await engine.dispose()


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "report.db"
    asyncio.run(outage(path))
    return str(path)


ARGS = ["report", "--since", "2026-05-28", "--by", "line"]


def test_the_table_names_the_related_lines_under_their_edge(
        db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "--db", db]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split()[0] for line in lines[1:-1]]
    assert rows == [EDGE, "related", ALONE]  # the related lines are no rows of their own
    assert lines[2] == "  related lines: isp:fjordnet/oslo, isp:kystlink/oslo"
    assert lines[1].split()[:2] == [EDGE, "1"]
    assert lines[-1].startswith("total: 2 incidents")  # one per outage, plus the lone ISP line


def test_the_csv_names_the_related_lines_in_their_edges_row(db: str, tmp_path: Path) -> None:
    out = tmp_path / "by-line.csv"
    assert main([*ARGS, "--format", "csv", "-o", str(out), "--db", db]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["line"], r["incidents"], r["related_lines"]) for r in rows] == [
        (EDGE, "1", "isp:fjordnet/oslo; isp:kystlink/oslo"), (ALONE, "1", "")]
