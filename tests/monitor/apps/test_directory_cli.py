"""`firstcall directory import`: errors by line on stderr, counts on stdout."""

from __future__ import annotations

import argparse
from pathlib import Path

from monitor.apps import directory as directory_cli
from tests.support.directory_files import GOOD, HEADER, write


def test_cli_imports_and_reports_errors(tmp_path: Path, capsys: object) -> None:
    db = tmp_path / "dir.db"
    parser = argparse.ArgumentParser()
    directory_cli.add_arguments(parser)
    bad = write(tmp_path, "bad.csv", HEADER + "stu-9,X,Y,+1,z,,,,,\n")
    assert directory_cli.run(parser.parse_args(["import", str(bad), "--db", str(db)])) == 1
    good = write(tmp_path, "good.csv", HEADER + GOOD)
    assert directory_cli.run(parser.parse_args(["import", str(good), "--db", str(db)])) == 0
    out = capsys.readouterr()  # type: ignore[attr-defined]
    assert "bad.csv: line 2, phone" in out.err and "imported 2 student(s), 3 guardian(s)" in out.out
