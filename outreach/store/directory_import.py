"""Loading an import file into the directory: check every row, then write all (or some).

Never holding the file whole: one pass validates every row (each student's rows must
agree, wherever they are in the file) keeping only a little per student, and spools
each row's database values to an anonymous temporary file; then the good students are
written from the spool in batches, in one transaction (COPY on PostgreSQL, executemany
on SQLite). Figures for a million rows: `python -m bench.directory_bench`,
docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import marshal
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import structlog

from outreach.decide.directory_rows import RowError, Unparsable, file_error, parse_guardian
from outreach.decide.directory_stream import MAX_LINE_BYTES, TooLong, stream_rows
from outreach.decide.family import Student
from outreach.store.directory import DirectoryStore, guardian_values

log = structlog.get_logger(__name__)
MAX_LISTED: Final = 1_000  # errors and skipped lines listed in a report (all are counted)
BATCH_ROWS: Final = 5_000  # guardian rows per write
MAX_GUARDIANS: Final = 50  # rows of one student (and its numbers, checked one by one)


@dataclass(slots=True)
class ImportReport:
    """What an import did: counts, errors (the first `MAX_LISTED`), whether anything was written."""

    students: int = 0
    guardians: int = 0
    errors: list[RowError] = field(default_factory=list)
    imported: bool = False
    skipped_lines: list[int] = field(default_factory=list)
    error_count: int = 0
    skipped_count: int = 0

    def error(self, e: RowError) -> None:
        """Count an error (and list it while fewer than `MAX_LISTED` are)."""
        self.error_count += 1
        if len(self.errors) < MAX_LISTED:
            self.errors.append(e)

    def skip(self, line: int) -> None:
        """Count a skipped line (and list it while fewer than `MAX_LISTED` are)."""
        self.skipped_count += 1
        if len(self.skipped_lines) < MAX_LISTED:
            self.skipped_lines.append(line)


def read_lines(path: Path) -> Iterator[bytes]:
    """The file's raw lines; a line over `MAX_LINE_BYTES` comes as a :class:`TooLong` stub."""
    with path.open("rb") as f:
        while line := f.readline(MAX_LINE_BYTES + 1):
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                while (rest := f.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                    pass
                yield TooLong(line[:64])
            else:
                yield line


def _sid(row: Mapping[str, Any]) -> str:
    value = row.get("student_id")
    return "" if value is None else str(value).strip()


def _name(row: Mapping[str, Any]) -> str:
    value = row.get("student_name")
    return "" if value is None else str(value).strip()


@dataclass(slots=True)
class Checked:
    """The first pass: the report so far, and which students may not be written."""

    report: ImportReport
    bad: set[str]
    rows: int = 0


def check_file(path: Path, spool: IO[bytes] | None = None) -> Checked:
    """Validate every row of the file (no database): errors by line, the students refused.

    With `spool`, every row is appended to it (`_spool`, lists of `BATCH_ROWS`): line,
    student, the student's row when this is its first, the guardian's values (None when
    the row is invalid).
    """
    report = ImportReport()
    bad: set[str] = {""}
    # student -> (first line, name, rows so far, phone, its line, phone, its line, ...):
    # a tuple, not objects, so that a million rows stay small
    seen: dict[str, tuple[Any, ...]] = {}
    checked = Checked(report, bad)
    spooled: list[tuple[int, str, Any, Any]] = []
    try:
        for line, row in stream_rows(read_lines(path), path.suffix):
            checked.rows += 1
            if len(report.skipped_lines) < MAX_LISTED:
                report.skipped_lines.append(line)
            guardian, errors = parse_guardian(line, row)
            sid = "" if isinstance(row, Unparsable) else _sid(row)
            name = _name(row)
            state = seen.get(sid) or (line, name, 0)
            if name != state[1]:
                errors.append(RowError(line, "student_name",
                                       f"differs from line {state[0]} ({state[1]!r})"))
            phone = None if guardian is None else guardian.phone
            if state[2] >= MAX_GUARDIANS:
                errors.append(RowError(line, "student_id",
                                       f"more than {MAX_GUARDIANS} guardians for one student"))
            elif phone:
                phones = state[3::2]
                if phone in phones:
                    first_use = state[4 + 2 * phones.index(phone)]
                    errors.append(RowError(line, "phone", f"same number as line {first_use}"))
                else:
                    state = (*state, phone, line)
            seen[sid] = (*state[:2], state[2] + 1, *state[3:])
            for e in errors:
                report.error(e)
            if errors:
                bad.add(sid)
            if spool is not None:
                position = state[2]
                values = None if guardian is None else guardian_values(sid, position, guardian)
                first = None if guardian is None or position else (
                    sid, name, guardian.language, guardian.time_zone)
                spooled.append((line, sid, first, values))
                if len(spooled) >= BATCH_ROWS:
                    _spool(spooled, spool)
        if spool is not None and spooled:
            _spool(spooled, spool)
    except ValueError as exc:  # the file's structure (header, JSON array) is broken
        report.error(file_error(exc))
        checked.rows = 0
    except OSError as exc:
        report.error(RowError(0, "", f"cannot read {path}: {exc}"))
        checked.rows = 0
    return checked


async def import_file(
    path: Path, store: DirectoryStore, *, allow_partial: bool = False
) -> ImportReport:
    """Validate every row, then import them all; on any error nothing, unless `allow_partial`.

    With `allow_partial`, students whose rows are all valid are imported and the lines of
    the others are counted in `skipped_count` (the first listed in `skipped_lines`).
    """
    with tempfile.TemporaryFile(prefix="firstcall-import-") as spool:
        checked = await asyncio.to_thread(check_file, path, spool)
        report = checked.report
        if report.error_count and (not allow_partial or checked.rows == 0):
            report.skipped_count = checked.rows
            log.warning("directory_import_refused", path=str(path), errors=report.error_count)
            return report
        report.skipped_lines = []
        spool.seek(0)
        await _write(spool, store, checked)
    log.info("directory_imported", path=str(path), students=report.students,
             guardians=report.guardians, errors=report.error_count)
    return report


def _spool(records: list[tuple[int, str, Any, Any]], spool: IO[bytes]) -> None:
    """Append a batch of records (length-prefixed marshal: read back in one piece)."""
    data = marshal.dumps(records)
    spool.write(len(data).to_bytes(8, "little") + data)
    records.clear()


def _spooled(spool: IO[bytes]) -> Iterator[tuple[int, str, Any, Any]]:
    while size := int.from_bytes(spool.read(8), "little"):
        yield from marshal.loads(spool.read(size))


async def _write(spool: IO[bytes], store: DirectoryStore, checked: Checked) -> None:
    report, bad, now = checked.report, checked.bad, store.clock()
    new: list[tuple[Any, ...]] = []
    rows: list[tuple[Any, ...]] = []
    async with store.bulk() as writer:
        for line, sid, first, values in _spooled(spool):
            if sid in bad or values is None:
                report.skip(line)
                continue
            if first is not None:
                new.append((*first, now))
            rows.append(values)
            if len(rows) >= BATCH_ROWS:
                report.students += len(new)
                report.guardians += len(rows)
                await writer.write(new, rows)
                new, rows = [], []
        report.students += len(new)
        report.guardians += len(rows)
        await writer.write(new, rows)
    report.imported = report.students > 0


def validate_file(path: Path) -> tuple[list[Student], list[RowError], dict[str, list[int]]]:
    """Read and validate a small import file whole (no database): students, errors, lines."""
    from outreach.decide.directory_rows import parse_rows, rows_of

    try:
        rows = rows_of(path.read_text(encoding="utf-8-sig"), path.suffix)
    except ValueError as exc:  # a bad file, or (as before) text that is not UTF-8
        return [], [file_error(exc)], {}
    except (OSError, UnicodeDecodeError) as exc:
        return [], [RowError(0, "", f"cannot read {path}: {exc}")], {}
    return parse_rows(rows)
