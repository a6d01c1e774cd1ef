"""Directory import of hostile or huge files: a line error each, never a traceback; batched writes.

On SQLite and PostgreSQL (COPY). Speed and memory of a million rows are a benchmark
(`python -m bench.directory_bench`), not tested here.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.apps import directory as directory_cli
from outreach.decide.directory_rows import MAX_FIELD_CHARS
from outreach.decide.directory_stream import MAX_LINE_BYTES
from outreach.store.directory import DirectoryStore
from outreach.store.directory_import import BATCH_ROWS, MAX_LISTED, import_file
from tests.support.casedb import case_engine  # noqa: F401
from tests.support.directory_files import GOOD, HEADER, write


def row(sid: str, guardian: str = "Nai", phone: str = "+8613812345678", name: str = "Ming",
        relation: str = "grandmother") -> str:
    return f"{sid},{name},{guardian},{phone},{relation},call,zh-CN,Asia/Shanghai,,no\n"


def jrow(sid: str, **extra: object) -> str:
    obj = {"student_id": sid, "student_name": "Amy", "guardian_name": "Joe",
           "phone": "+14155550100", "relation": "grandfather", **extra}
    return json.dumps(obj, ensure_ascii=False) + "\n"


def errors_of(report: object) -> list[tuple[int, str, str]]:
    return [(e.line, e.field, e.message) for e in report.errors]  # type: ignore[attr-defined]


async def test_a_huge_field_is_a_line_error_in_csv_and_json_lines(
        tmp_path: Path, case_engine: AsyncEngine) -> None:  # noqa: F811
    store = DirectoryStore(case_engine)
    huge = "x" * (MAX_FIELD_CHARS + 1)
    csv_file = write(tmp_path, "d.csv", HEADER + GOOD + row("stu-3", guardian=huge)
                     + row("stu-4", name="N" * 201) + row("stu-5", relation="r" * 33))
    report = await import_file(csv_file, store, allow_partial=True)
    assert [(line, f) for line, f, _ in errors_of(report)] == [
        (5, ""), (6, "student_name"), (7, "relation")]
    assert str(MAX_FIELD_CHARS) in errors_of(report)[0][2]
    assert (report.students, report.skipped_lines, report.error_count) == (2, [5, 6, 7], 3)
    jsonl = write(tmp_path, "d.jsonl", jrow("stu-6") + jrow("stu-7", guardian_name=huge))
    report = await import_file(jsonl, store, allow_partial=True)
    assert [(line, f) for line, f, _ in errors_of(report)] == [(2, "")]
    assert "guardian_name: longer than 131072" in errors_of(report)[0][2]
    assert report.students == 1 and await store.count() == 3


async def test_deeply_nested_json_is_a_line_error(
        tmp_path: Path, case_engine: AsyncEngine) -> None:  # noqa: F811
    store = DirectoryStore(case_engine)
    deep = '{"student_id": "stu-9", "x": ' + "[" * 100_000 + "]" * 100_000 + "}\n"
    nested = jrow("stu-8", phone={"a": [[[[1]]]]})
    path = write(tmp_path, "d.jsonl", jrow("stu-6") + deep + nested + "[" * 5000 + "\n")
    report = await import_file(path, store, allow_partial=True)
    got = errors_of(report)
    assert [line for line, _, _ in got] == [2, 3, 4]
    assert "nested too deeply" in got[0][2] and "phone: must be text" in got[1][2]
    assert report.students == 1
    array = write(tmp_path, "d.json", "[\n" + jrow("stu-6") + "," + deep + "]\n")
    report = await import_file(array, store)
    assert errors_of(report) == [(3, "", "JSON nested too deeply")] and not report.imported


async def test_invalid_utf8_and_an_endless_line_name_their_line(
        tmp_path: Path, case_engine: AsyncEngine) -> None:  # noqa: F811
    store = DirectoryStore(case_engine)
    path = tmp_path / "d.csv"
    path.write_bytes((HEADER + GOOD).encode() + row("stu-3").encode("utf-16")
                     + b"stu-4," + b"y" * (MAX_LINE_BYTES + 10) + b"\n"
                     + row("stu-5", phone="+8613812345679").encode())
    report = await import_file(path, store, allow_partial=True)
    got = errors_of(report)
    assert [(line, f) for line, f, _ in got] == [(5, ""), (6, "")]
    assert "not UTF-8" in got[0][2] and "longer than" in got[1][2]
    assert report.students == 3 and report.skipped_lines == [5, 6]
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_bytes(jrow("stu-6").encode() + b'{"student_id": "\xff\xfe"}\n')
    report = await import_file(jsonl, store, allow_partial=True)
    assert [(line, "not UTF-8" in m) for line, _, m in errors_of(report)] == [(2, True)]
    array = tmp_path / "d.json"
    array.write_bytes(b"[\n" + jrow("stu-6").encode() + b',{"student_id": "\xff"}\n]')
    report = await import_file(array, store, allow_partial=True)
    assert [(line, "not UTF-8" in m) for line, _, m in errors_of(report)] == [(3, True)]
    assert not report.imported


async def test_many_batches_keep_each_students_guardians_in_order_and_replace_old_ones(
        tmp_path: Path, case_engine: AsyncEngine) -> None:  # noqa: F811
    store = DirectoryStore(case_engine)
    n = BATCH_ROWS * 2 + 10
    rows = [row(f"stu-{i}", guardian=f"G{i}", phone=f"+86138{i:08d}") for i in range(n)]
    # stu-0's second guardian comes last: a later batch than its first
    rows.append(row("stu-0", guardian="Second", phone="+8613999999999", relation="father"))
    path = write(tmp_path, "big.csv", HEADER + "".join(rows))
    report = await import_file(path, store)
    assert (report.students, report.guardians, report.error_count) == (n, n + 1, 0)
    assert await store.count() == n
    first = await store.get("stu-0")
    assert first is not None and [g.name for g in first.guardians] == ["G0", "Second"]
    again = write(tmp_path, "again.csv", HEADER + row("stu-0", guardian="Only"))
    await import_file(again, store)
    first = await store.get("stu-0")
    assert first is not None and [g.name for g in first.guardians] == ["Only"]
    assert await store.count() == n


async def test_a_json_array_is_read_in_pieces_with_the_right_lines(
        tmp_path: Path, case_engine: AsyncEngine) -> None:  # noqa: F811
    store = DirectoryStore(case_engine)
    objs = [jrow(f"stu-{i}", phone=f"+1415555{i:04d}").strip() for i in range(2000)]
    objs[1500] = objs[1500].replace('"+14155551500"', '"555"')
    path = write(tmp_path, "d.json", "[\n" + ",\n".join(objs) + "\n]\n")
    report = await import_file(path, store, allow_partial=True)
    assert [(line, f) for line, f, _ in errors_of(report)] == [(1502, "phone")]
    assert report.students == 1999


def test_the_cli_reports_the_error_count(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         ) -> None:
    parser = argparse.ArgumentParser()
    directory_cli.add_arguments(parser)
    bad = "".join(row(f"bad-{i}", phone="12345") for i in range(MAX_LISTED + 5))
    path = write(tmp_path, "bad.csv", HEADER + GOOD + bad)
    db = str(tmp_path / "d.db")
    assert directory_cli.run(parser.parse_args(["import", str(path), "--db", db])) == 1
    err = capsys.readouterr().err
    assert "... and 5 more error(s)" in err
    assert f"{MAX_LISTED + 5} error(s); nothing imported" in err
    assert directory_cli.run(parser.parse_args(["import", str(path), "--db", db,
                                                "--partial"])) == 1
    out = capsys.readouterr()
    assert "imported 2 student(s), 3 guardian(s)" in out.out
    assert f"skipped {MAX_LISTED + 5} line(s)" in out.err and "and 5 more" in out.err


async def test_one_student_repeated_endlessly_is_refused_not_slow(tmp_path: Path) -> None:
    from outreach.store.db import make_engine, upgrade
    from outreach.store.directory_import import MAX_GUARDIANS

    engine = make_engine(str(tmp_path / "d.db"))
    await upgrade(engine)
    try:
        rows = [row("stu-1", guardian=f"G{i}", phone=f"+86138{i:08d}") for i in range(20_000)]
        path = write(tmp_path, "same.csv", HEADER + "".join(rows) + row("stu-2"))
        report = await import_file(path, DirectoryStore(engine), allow_partial=True)
        assert report.error_count == 20_000 - MAX_GUARDIANS
        assert report.errors[0].line == MAX_GUARDIANS + 2 and report.students == 1
    finally:
        await engine.dispose()
