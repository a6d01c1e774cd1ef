"""Loading an import file into the directory: validate every row, then save all (or some)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import structlog

from outreach.decide.directory_rows import RowError, file_error, parse_rows, rows_of
from outreach.decide.family import Student
from outreach.store.directory import DirectoryStore

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class ImportReport:
    """What an import did: counts, errors, and whether anything was written."""

    students: int = 0
    guardians: int = 0
    errors: list[RowError] = field(default_factory=list)
    imported: bool = False
    skipped_lines: list[int] = field(default_factory=list)


def validate_file(path: Path) -> tuple[list[Student], list[RowError], dict[str, list[int]]]:
    """Read and validate an import file without touching any database."""
    try:
        rows = rows_of(path.read_text(encoding="utf-8-sig"), path.suffix)
    except ValueError as exc:  # a bad file, or (as before) text that is not UTF-8
        return [], [file_error(exc)], {}
    except (OSError, UnicodeDecodeError) as exc:
        return [], [RowError(0, "", f"cannot read {path}: {exc}")], {}
    return parse_rows(rows)


async def import_file(
    path: Path, store: DirectoryStore, *, allow_partial: bool = False
) -> ImportReport:
    """Validate every row, then import them all; on any error nothing, unless `allow_partial`.

    With `allow_partial`, students whose rows are all valid are imported and the lines of
    the others are listed in `skipped_lines`.
    """
    good, errors, lines = validate_file(path)
    report = ImportReport(errors=errors)
    if errors and not allow_partial:
        report.skipped_lines = sorted(n for ns in lines.values() for n in ns)
        log.warning("directory_import_refused", path=str(path), errors=len(errors))
        return report
    kept = {s.student_id for s in good}
    report.skipped_lines = sorted(n for sid, ns in lines.items() if sid not in kept for n in ns)
    if good:
        await store.save(good)
        report.imported = True
    report.students = len(good)
    report.guardians = sum(len(s.guardians) for s in good)
    log.info(
        "directory_imported",
        path=str(path),
        students=report.students,
        guardians=report.guardians,
        errors=len(errors),
    )
    return report


