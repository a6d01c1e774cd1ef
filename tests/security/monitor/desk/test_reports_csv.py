"""CSV reports: spreadsheet formulas from client-reported classroom and teacher ids."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from detectors.records import Incident
from monitor.cli import main
from monitor.report_format import csv_text
from outreach.store.cases import CaseStore
from outreach.store.db import make_engine, upgrade
from outreach.store.queue import QueueStore
from outreach.store.reports import ReportRow
from tests.support.desk_api import DeskClient
from tests.support.desk_scenario import T0

FORMULAS = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)",
            "\tx", "\rx"]
NOW = T0 + 3_600_000


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_csv_cells_that_start_a_formula_are_prefixed_with_a_quote() -> None:
    rows = [ReportRow(key=f) for f in FORMULAS] + [ReportRow(key="room-a")]
    rows[0].causes["=1+2"] += 1
    rows[1].related_lines["=2+3"] += 1
    got = cells(csv_text(rows, "classroom"))[1:]
    assert [r[0] for r in got] == ["'" + f.replace("\r", "\n") for f in FORMULAS] + ["room-a"]
    assert got[0][-2] == "'=1+2 (1)"  # top causes; the related lines are the last column
    assert got[1][-1] == "'=2+3"
    assert all(not r[0].startswith(("=", "+", "-", "@", "\t", "\r")) for r in got)


def incident(iid: str, room: str) -> Incident:
    return Incident(incident_id=iid, kind="lag", state="open", started_at=T0, detected_at=T0,
                    ended_at=T0 + 60_000, line={"edge": "e", "isp": "i", "region": "r"},
                    evidence={}, session_id="s-" + iid, student_id="stu-" + iid,
                    classroom_id=room)


async def poisoned(engine_path: Path) -> None:
    engine = make_engine(str(engine_path))
    await upgrade(engine)
    store = CaseStore(engine, lambda: NOW)
    queue = QueueStore(engine, store, lambda: NOW)
    for n, room in enumerate(FORMULAS[:2]):
        case = await store.record_incident(incident(f"lag-{n}", room), {})
        await queue.save_context(case.case_id, {"cause": "lag", "teacher": "=evil()"})
    await engine.dispose()


async def test_the_desk_csv_download_neutralises_formulas(api: DeskClient) -> None:
    store = api.desk.live.desk.store
    case = await store.record_incident(incident("lag-x", FORMULAS[1]), {})
    await api.desk.live.desk.queue.save_context(case.case_id, {"cause": "lag"})
    r = await api.http.get("/api/reports.csv?since=2025-12-31", headers=api.auth("olga"))
    assert r.status_code == 200
    keys = [row[0] for row in cells(r.text)[1:]]
    assert "'" + FORMULAS[1] in keys and FORMULAS[1] not in keys


def test_the_cli_csv_neutralises_formulas(tmp_path: Path) -> None:
    import asyncio

    db = tmp_path / "r.db"
    asyncio.run(poisoned(db))
    out = tmp_path / "r.csv"
    for by in ("classroom", "teacher"):
        assert main(["report", "--since", "2025-12-31", "--by", by, "--format", "csv",
                     "--db", str(db), "-o", str(out)]) == 0
        keys = [row[0] for row in cells(out.read_text())[1:]]
        assert keys and all(k.startswith("'") for k in keys), keys
