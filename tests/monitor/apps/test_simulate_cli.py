"""`firstcall simulate` on the command line: it says what it wrote where."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli import main


def test_simulate_names_the_files_it_wrote(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tel, truth, faults = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    assert main(["simulate", "--classrooms", "2", "--lesson-minutes", "5-6", "--out", str(tel),
                 "--truth", str(truth), "--faults-out", str(faults)]) == 0
    err = capsys.readouterr().err
    n = len(tel.read_bytes().splitlines())
    assert f"wrote {tel}: telemetry, {n} events" in err
    assert f"wrote {truth}: ground truth," in err and f"wrote {faults}: injected faults," in err
