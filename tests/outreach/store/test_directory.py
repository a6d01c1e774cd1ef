"""Family directory: validation by line number, all-or-nothing import, storage, CLI."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.apps import directory as directory_cli
from outreach.decide.decision import FamilyPrefs
from outreach.store.directory import (
    DirectoryStore,
    describe,
    family_prefs,
    import_file,
    parse_quiet_hours,
    validate_file,
)
from tests.support.casedb import case_engine  # noqa: F401

HEADER = (
    "student_id,student_name,guardian_name,phone,relation,preferred_channel,"
    "language,time_zone,quiet_hours,do_not_call\n"
)
GOOD = (
    "stu-1,小明,王奶奶,+8613812345678,grandmother,call,zh-CN,Asia/Shanghai,21:00-08:00,no\n"
    "stu-1,小明,王先生,+8613912345678,father,sms,zh-CN,Asia/Shanghai,,\n"
    "stu-2,Amy,Grandpa Joe,+14155550100,grandfather,call,en,America/Los_Angeles,,false\n"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_every_bad_field_is_reported_with_its_line(tmp_path: Path) -> None:
    bad = (
        "stu-3,Li,Grandma,13812345678,grandmother,call,zh-CN,Asia/Shanghai,,\n"  # line 5
        "stu-4,,Mum,+8613700000000,mother,fax,fr,Mars/Base,25:00-07:00,maybe\n"  # line 6
    )
    good, errors, _ = validate_file(write(tmp_path, "d.csv", HEADER + GOOD + bad))
    got = {(e.line, e.field) for e in errors}
    assert got == {
        (5, "phone"),
        (6, "student_name"),
        (6, "preferred_channel"),
        (6, "language"),
        (6, "time_zone"),
        (6, "quiet_hours"),
        (6, "do_not_call"),
    }
    assert [s.student_id for s in good] == ["stu-1", "stu-2"]
    assert "line 5, phone: not an E.164 number" in str(errors[0])


def test_multiline_csv_fields_keep_line_numbers_right(tmp_path: Path) -> None:
    text = (
        HEADER
        + '"stu-1","Ming\nMing",Nai,+8613812345678,grandmother,,,,,\n'
        + "stu-2,A,B,+1,x,,,,,\n"
    )
    _, errors, _ = validate_file(write(tmp_path, "m.csv", text))
    assert [(e.line, e.field) for e in errors] == [(4, "phone")]


def test_student_rows_must_agree_and_phones_not_repeat(tmp_path: Path) -> None:
    text = HEADER + (
        "stu-1,小明,A,+8613812345678,grandmother,,,,,\nstu-1,小红,B,+8613812345678,father,,,,,\n"
    )
    good, errors, _ = validate_file(write(tmp_path, "s.csv", text))
    assert good == []
    assert {(e.line, e.field) for e in errors} == {(3, "student_name"), (3, "phone")}


def test_missing_columns_and_unknown_type(tmp_path: Path) -> None:
    _, errors, _ = validate_file(write(tmp_path, "h.csv", "student_id,name\nx,y\n"))
    assert errors[0].line == 1 and "missing columns" in errors[0].message
    _, errors, _ = validate_file(write(tmp_path, "x.xml", "<x/>"))
    assert errors and errors[0].line == 0


def test_json_array_lines_and_jsonl(tmp_path: Path) -> None:
    rows = [
        {
            "student_id": "stu-1",
            "student_name": "小明",
            "guardian_name": "奶奶",
            "phone": "+8613812345678",
            "relation": "grandmother",
            "do_not_call": True,
        },
        {
            "student_id": "stu-2",
            "student_name": "Amy",
            "guardian_name": "Joe",
            "phone": "555",
            "relation": "grandfather",
        },
    ]
    text = "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n]\n"
    good, errors, _ = validate_file(write(tmp_path, "d.json", text))
    assert [(e.line, e.field) for e in errors] == [(3, "phone")]
    assert good[0].guardians[0].do_not_call is True
    jsonl = "{oops\n" + "\n".join(json.dumps(r) for r in rows) + "\n"
    good, errors, _ = validate_file(write(tmp_path, "d.jsonl", jsonl))
    assert [(e.line, e.field) for e in errors] == [(1, ""), (3, "phone")]
    assert "invalid JSON" in errors[0].message and [s.student_id for s in good] == ["stu-1"]
    _, errors, _ = validate_file(write(tmp_path, "o.json", '[{"a": 1},\n 7]'))
    assert errors[0].line == 2 and "expected an object" in errors[0].message


def test_quiet_hours_wrap_midnight_in_the_guardians_zone() -> None:
    quiet = parse_quiet_hours("21:00-08:00")
    assert quiet is not None and str(quiet) == "21:00-08:00"


async def test_import_all_or_nothing_then_partial(
    tmp_path: Path,
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    store = DirectoryStore(case_engine)
    path = write(tmp_path, "d.csv", HEADER + GOOD + "stu-3,Li,Nai,+86138,grandmother,,,,,\n")
    report = await import_file(path, store)
    assert not report.imported and [e.line for e in report.errors] == [5]
    assert await store.count() == 0
    report = await import_file(path, store, allow_partial=True)
    assert report.imported and report.students == 2 and report.guardians == 3
    assert report.skipped_lines == [5]
    student = await store.get("stu-1")
    assert student is not None and [g.relation for g in student.guardians] == [
        "grandmother",
        "father",
    ]
    nai = student.guardians[0]
    assert nai.phone == "+8613812345678" and nai.language == "zh-CN"
    # 22:30 in Shanghai is 14:30 UTC: inside 21:00-08:00; 12:00 Shanghai is not.
    assert nai.is_quiet_at(int(datetime(2026, 1, 5, 14, 30, tzinfo=UTC).timestamp() * 1000))
    assert not nai.is_quiet_at(int(datetime(2026, 1, 5, 4, 0, tzinfo=UTC).timestamp() * 1000))
    # re-import replaces a student's guardians rather than adding to them
    await import_file(write(tmp_path, "e.csv", HEADER + GOOD), store)
    again = await store.get("stu-1")
    assert again is not None and len(again.guardians) == 2
    assert await store.get("nobody") is None


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


def test_family_prefs_and_log_safe_summary(tmp_path: Path) -> None:
    good, errors, _ = validate_file(write(tmp_path, "d.csv", HEADER + GOOD))
    assert errors == []
    ming = next(s for s in good if s.student_id == "stu-1")
    assert family_prefs(ming) == FamilyPrefs(
        time_zone="Asia/Shanghai",
        quiet_start="21:00",
        quiet_end="08:00",
        do_not_call=False,
        preferred_channel="call",
    )
    summary = describe(ming)
    assert "+8613812345678" not in str(summary) and "+86*******5678" in str(summary)
