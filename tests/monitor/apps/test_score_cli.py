"""`firstcall score`: a replay's records scored against the simulator's truth."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from monitor.cli import main


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A small simulated day, its truth, and replay's records of it."""
    d = tmp_path_factory.mktemp("score")
    tel, truth, records = d / "day.jsonl", d / "truth.jsonl", d / "records.jsonl"
    assert main(["simulate", "--seed", "5", "--classrooms", "4", "--lesson-minutes", "12-15",
                 "--fault-scale", "3", "--out", str(tel), "--truth", str(truth),
                 "--quiet"]) == 0
    assert main(["replay", str(tel), "--out", str(records), "--quiet"]) == 0
    return tel, truth, records


def test_scores_a_replay_against_its_truth_as_json(
        day: tuple[Path, Path, Path], capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    _, truth, records = day
    assert main(["score", str(records), "--truth", str(truth), "--format", "json"]) == 0
    doc = orjson.loads(capsysbinary.readouterr().out)
    n_truth = len(truth.read_bytes().splitlines())
    assert doc["overall"]["truth"] == n_truth > 0
    assert doc["overall"]["recall"] >= 0.9
    assert set(doc["families"]) >= {"long_problems_answered", "first_contact_p50_ms"}


def test_scoring_nothing_against_the_truth_finds_nothing(
        day: tuple[Path, Path, Path], tmp_path: Path,
        capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    _, truth, _ = day
    empty = tmp_path / "none.jsonl"
    empty.write_bytes(b"")
    assert main(["score", str(empty), "--truth", str(truth), "--format", "json"]) == 0
    doc = orjson.loads(capsysbinary.readouterr().out)
    assert doc["overall"]["recall"] == 0.0
    assert len(doc["missed"]) == doc["overall"]["truth"]


def test_the_text_report_names_kinds_and_families(
        day: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, truth, records = day
    assert main(["score", str(records), "--truth", str(truth)]) == 0
    out = capsys.readouterr().out
    assert "recall" in out and "disconnect" in out and "families (contract 1.1)" in out


def test_a_bad_line_names_its_file_and_number(
        day: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, truth, _ = day
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"record":"incident"}\n{not json\n')
    assert main(["score", str(bad), "--truth", str(truth)]) == 2
    assert f"{bad}: line 2 is not JSON" in capsys.readouterr().err


def test_truth_that_is_not_truth_is_refused(
        day: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, _, records = day
    assert main(["score", str(records), "--truth", str(records)]) == 2
    assert "not a truth episode" in capsys.readouterr().err


def test_a_missing_file_is_a_clear_error(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", str(tmp_path / "nope.jsonl"), "--truth", str(tmp_path / "t")]) == 1
    assert "cannot read" in capsys.readouterr().err

