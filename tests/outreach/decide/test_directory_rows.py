"""Directory import files: every problem reported by its line, in CSV, JSON and JSON Lines."""

from __future__ import annotations

import json

from outreach.decide.directory_rows import validate_text
from tests.support.directory_files import GOOD, HEADER


def test_every_bad_field_is_reported_with_its_line() -> None:
    bad = (
        "stu-3,Li,Grandma,13812345678,grandmother,call,zh-CN,Asia/Shanghai,,\n"  # line 5
        "stu-4,,Mum,+8613700000000,mother,fax,fr,Mars/Base,25:00-07:00,maybe\n"  # line 6
    )
    good, errors, _ = validate_text(HEADER + GOOD + bad, ".csv")
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


def test_multiline_csv_fields_keep_line_numbers_right() -> None:
    text = (
        HEADER
        + '"stu-1","Ming\nMing",Nai,+8613812345678,grandmother,,,,,\n'
        + "stu-2,A,B,+1,x,,,,,\n"
    )
    _, errors, _ = validate_text(text, ".csv")
    assert [(e.line, e.field) for e in errors] == [(4, "phone")]


def test_student_rows_must_agree_and_phones_not_repeat() -> None:
    text = HEADER + (
        "stu-1,小明,A,+8613812345678,grandmother,,,,,\nstu-1,小红,B,+8613812345678,father,,,,,\n"
    )
    good, errors, _ = validate_text(text, ".csv")
    assert good == []
    assert {(e.line, e.field) for e in errors} == {(3, "student_name"), (3, "phone")}


def test_missing_columns_and_unknown_type() -> None:
    _, errors, _ = validate_text("student_id,name\nx,y\n", ".csv")
    assert errors[0].line == 1 and "missing columns" in errors[0].message
    _, errors, _ = validate_text("<x/>", ".xml")
    assert errors and errors[0].line == 0


def test_json_array_lines_and_jsonl() -> None:
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
    good, errors, _ = validate_text(text, ".json")
    assert [(e.line, e.field) for e in errors] == [(3, "phone")]
    assert good[0].guardians[0].do_not_call is True
    jsonl = "{oops\n" + "\n".join(json.dumps(r) for r in rows) + "\n"
    good, errors, _ = validate_text(jsonl, ".jsonl")
    assert [(e.line, e.field) for e in errors] == [(1, ""), (3, "phone")]
    assert "invalid JSON" in errors[0].message and [s.student_id for s in good] == ["stu-1"]
    _, errors, _ = validate_text('[{"a": 1},\n 7]', ".json")
    assert errors[0].line == 2 and "expected an object" in errors[0].message
