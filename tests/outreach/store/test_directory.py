"""The family directory in the case database: all-or-nothing import, storage, reading files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.store.directory import DirectoryStore
from outreach.store.directory_import import import_file, validate_file
from outreach.store.optouts import SmsOptOuts
from tests.support.casedb import Statements, case_engine  # noqa: F401
from tests.support.directory_files import GOOD, HEADER, write


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


def test_validate_file_reads_the_file_by_its_suffix(tmp_path: Path) -> None:
    good, errors, lines = validate_file(write(tmp_path, "d.csv", HEADER + GOOD))
    assert errors == [] and [s.student_id for s in good] == ["stu-1", "stu-2"]
    assert lines == {"stu-1": [2, 3], "stu-2": [4]}
    _, errors, _ = validate_file(tmp_path / "missing.csv")
    assert errors[0].line == 0 and errors[0].message.startswith("cannot read")
    _, errors, _ = validate_file(write(tmp_path, "x.xml", "<x/>"))
    assert errors[0].line == 0 and "unsupported file type '.xml'" in errors[0].message


async def test_a_family_and_its_stopped_numbers_come_in_one_look_up(
    tmp_path: Path,
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    store = DirectoryStore(case_engine)
    await import_file(write(tmp_path, "d.csv", HEADER + GOOD), store)
    await SmsOptOuts(case_engine).opt_out("+8613912345678", "SM1")
    counted = Statements(case_engine)
    student, stopped = await store.with_opt_outs("stu-1")
    assert counted.count == 1
    assert student == await store.get("stu-1")
    assert stopped == {"+8613912345678"}
    assert await store.with_opt_outs("stu-2") == (await store.get("stu-2"), set())
    assert await store.with_opt_outs("nobody") == (None, set())
    counted.close()
