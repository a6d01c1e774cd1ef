"""`python -m bench.directory_bench` on a small file: the generated rows and the printed table."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import directory_bench
from outreach.store.directory_import import check_file


def test_the_generated_file_has_the_asked_rows_and_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    directory_bench.write_file(path, 1000, 4)
    checked = check_file(path)
    assert checked.rows == 1000 and checked.report.error_count == 4
    assert len(checked.bad) == 4 + 1  # four students, and the empty id always refused


def test_the_bench_imports_and_prints_a_row(capsys: pytest.CaptureFixture[str]) -> None:
    assert directory_bench.main(["--rows", "200", "--bad", "2", "--backends", "sqlite"]) == 0
    out = capsys.readouterr().out
    [line] = [x for x in out.splitlines() if x.startswith("| sqlite |")]
    assert "| 1 | imported 98 student(s), 196 guardian(s) |" in line
