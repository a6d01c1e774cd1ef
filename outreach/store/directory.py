"""The family directory: students and their guardians, validated import, storage."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.decide.clock import Clock, now_ms
from outreach.decide.decision import FamilyPrefs
from outreach.decide.redact import mask_phone
from outreach.store.models import guardians, students

log = structlog.get_logger(__name__)

PreferredChannel = Literal["call", "sms", "chat"]
CHANNELS: Final = ("call", "sms", "chat")
LANGUAGES: Final = ("zh-CN", "en")
DEFAULT_LANGUAGE: Final = "zh-CN"
DEFAULT_TIME_ZONE: Final = "Asia/Shanghai"
REQUIRED_COLUMNS: Final = ("student_id", "student_name", "guardian_name", "relation")
COLUMNS: Final = (
    *REQUIRED_COLUMNS,
    "phone",
    "preferred_channel",
    "language",
    "time_zone",
    "quiet_hours",
    "do_not_call",
)
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
TRUE = {"true", "yes", "y", "1"}
FALSE = {"false", "no", "n", "0", ""}


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window (local time) with no calls; may wrap past midnight."""

    start: time
    end: time

    def contains(self, local: time) -> bool:
        """True when `local` falls inside the window."""
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class Guardian:
    """A grown-up FirstCall may contact about a student."""

    name: str
    phone: str | None
    relation: str
    preferred_channel: PreferredChannel
    language: str
    time_zone: str
    quiet_hours: QuietHours | None
    do_not_call: bool

    def is_quiet_at(self, at_ms: int) -> bool:
        """True when `at_ms` is inside this guardian's quiet hours (in their time zone)."""
        if self.quiet_hours is None:
            return False
        local = datetime.fromtimestamp(at_ms / 1000, ZoneInfo(self.time_zone)).time()
        return self.quiet_hours.contains(local)


@dataclass(frozen=True, slots=True)
class Student:
    """A student and their guardians (first one is the first to contact)."""

    student_id: str
    name: str
    language: str
    time_zone: str
    guardians: tuple[Guardian, ...]


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in an import file, by line number."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", {self.field}" if self.field else "")
        return f"{where}: {self.message}"


@dataclass(slots=True)
class ImportReport:
    """What an import did: counts, errors, and whether anything was written."""

    students: int = 0
    guardians: int = 0
    errors: list[RowError] = field(default_factory=list)
    imported: bool = False
    skipped_lines: list[int] = field(default_factory=list)


def parse_quiet_hours(text: str) -> QuietHours | None:
    """`"21:00-08:00"` -> QuietHours; empty -> None; ValueError when malformed."""
    text = text.strip()
    if not text:
        return None
    start, sep, end = text.partition("-")
    a, b = HHMM.match(start.strip()), HHMM.match(end.strip())
    if not sep or a is None or b is None:
        raise ValueError(f"expected HH:MM-HH:MM, got {text!r}")
    return QuietHours(time(int(a[1]), int(a[2])), time(int(b[1]), int(b[2])))


def _text(row: Mapping[str, Any], name: str) -> str:
    value = row.get(name)
    return "" if value is None else str(value).strip()


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = "" if value is None else str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError(f"expected true/false, got {value!r}")


def parse_guardian(line: int, row: Mapping[str, Any]) -> tuple[Guardian | None, list[RowError]]:
    """Validate one row's guardian; every problem is reported, not just the first."""
    if isinstance(row, _Unparsable):
        return None, [RowError(line, "", row.message)]
    errors: list[RowError] = []

    def bad(name: str, message: str) -> None:
        errors.append(RowError(line, name, message))

    for name in REQUIRED_COLUMNS:
        if not _text(row, name):
            bad(name, "required")
    if len(_text(row, "student_id")) > 128:
        bad("student_id", "longer than 128 characters")
    channel = _text(row, "preferred_channel") or "call"
    if channel not in CHANNELS:
        bad("preferred_channel", f"must be one of {', '.join(CHANNELS)}")
    phone = _text(row, "phone").replace(" ", "").replace("-", "") or None
    if phone is None and channel != "chat":
        bad("phone", "required unless preferred_channel is chat")
    elif phone is not None and not E164.match(phone):
        bad("phone", "not an E.164 number (e.g. +8613812345678)")
    language = _text(row, "language") or DEFAULT_LANGUAGE
    if language not in LANGUAGES:
        bad("language", f"must be one of {', '.join(LANGUAGES)}")
    tz = _text(row, "time_zone") or DEFAULT_TIME_ZONE
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        bad("time_zone", f"unknown IANA time zone {tz!r}")
    quiet: QuietHours | None = None
    try:
        quiet = parse_quiet_hours(_text(row, "quiet_hours"))
    except ValueError as exc:
        bad("quiet_hours", str(exc))
    do_not_call = False
    try:
        do_not_call = _bool(row.get("do_not_call"))
    except ValueError as exc:
        bad("do_not_call", str(exc))
    if errors:
        return None, errors
    guardian = Guardian(
        name=_text(row, "guardian_name"),
        phone=phone,
        relation=_text(row, "relation"),
        preferred_channel=channel,  # type: ignore[arg-type]
        language=language,
        time_zone=tz,
        quiet_hours=quiet,
        do_not_call=do_not_call,
    )
    return guardian, []


def parse_rows(
    rows: Iterable[tuple[int, Mapping[str, Any]]],
) -> tuple[list[Student], list[RowError], dict[str, list[int]]]:
    """Validate numbered rows (one guardian each) into students.

    Returns the students whose every row is valid, all errors, and the lines of each
    student (so a partial import can name what it skipped).
    """
    errors: list[RowError] = []
    grouped: dict[str, list[tuple[int, Mapping[str, Any], Guardian | None]]] = {}
    for line, row in rows:
        guardian, row_errors = parse_guardian(line, row)
        errors.extend(row_errors)
        grouped.setdefault(_text(row, "student_id"), []).append((line, row, guardian))
    good: list[Student] = []
    for sid, items in grouped.items():
        student_errors = _student_errors(items)
        errors.extend(student_errors)
        found = tuple(g for _, _, g in items if g is not None)
        if sid and not student_errors and len(found) == len(items):
            name = _text(items[0][1], "student_name")
            good.append(Student(sid, name, found[0].language, found[0].time_zone, found))
    errors.sort(key=lambda e: e.line)
    lines = {sid: [line for line, _, _ in items] for sid, items in grouped.items()}
    return good, errors, lines


def _student_errors(items: list[tuple[int, Mapping[str, Any], Guardian | None]]) -> list[RowError]:
    """Rows of one student that disagree on its name, or repeat a phone number."""
    errors: list[RowError] = []
    first_line, first_row, _ = items[0]
    name = _text(first_row, "student_name")
    phones: dict[str, int] = {}
    for line, row, guardian in items:
        if _text(row, "student_name") != name:
            message = f"differs from line {first_line} ({name!r})"
            errors.append(RowError(line, "student_name", message))
        if guardian is not None and guardian.phone:
            if guardian.phone in phones:
                message = f"same number as line {phones[guardian.phone]}"
                errors.append(RowError(line, "phone", message))
            phones.setdefault(guardian.phone, line)
    return errors


def read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Numbered rows of a CSV, JSON array or JSON Lines file; ValueError names the line."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        return _csv_rows(text)
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return _jsonl_rows(text)
    if path.suffix.lower() == ".json":
        return _json_array_rows(text)
    raise ValueError(f"line 0: unsupported file type {path.suffix!r} (use .csv, .json, .jsonl)")


def _csv_rows(text: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ValueError(f"line 1: missing columns {', '.join(missing)}")
    reader.fieldnames = header
    out: list[tuple[int, dict[str, Any]]] = []
    start = 2
    for row in reader:
        out.append((start, dict(row)))
        start = reader.line_num + 1
    return out


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _jsonl_rows(text: str) -> list[tuple[int, dict[str, Any]]]:
    out: list[tuple[int, dict[str, Any]]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.strip():
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                obj = _Unparsable(f"invalid JSON ({exc.msg})")
            out.append((number, obj if isinstance(obj, _Unparsable) else _object(number, obj)))
    return out


class _Unparsable(dict[str, Any]):
    """A JSON Lines row that is not JSON: validated as an error, the other rows still are."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


def _json_array_rows(text: str) -> list[tuple[int, dict[str, Any]]]:
    decoder = json.JSONDecoder()
    ws = re.compile(r"[ \t\r\n]*")
    pos = ws.match(text, 0).end()  # type: ignore[union-attr]
    if not text.startswith("[", pos):
        raise ValueError(f"line {_line_of(text, pos)}: expected a JSON array of objects")
    pos = ws.match(text, pos + 1).end()  # type: ignore[union-attr]
    out: list[tuple[int, dict[str, Any]]] = []
    if text.startswith("]", pos):
        return out
    while True:
        line = _line_of(text, pos)
        try:
            obj, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {exc.lineno}: invalid JSON ({exc.msg})") from None
        out.append((line, _object(line, obj)))
        pos = ws.match(text, pos).end()  # type: ignore[union-attr]
        if text.startswith("]", pos):
            return out
        if not text.startswith(",", pos):
            raise ValueError(f"line {_line_of(text, pos)}: expected ',' or ']'")
        pos = ws.match(text, pos + 1).end()  # type: ignore[union-attr]


def _object(line: int, obj: Any) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ValueError(f"line {line}: expected an object, got {type(obj).__name__}")
    return obj


class DirectoryStore:
    """Students and guardians in the case database."""

    def __init__(self, engine: AsyncEngine, clock: Clock = now_ms) -> None:
        self.engine = engine
        self.clock = clock

    async def save(self, batch: Iterable[Student]) -> int:
        """Insert or replace students (and all their guardians) in one transaction."""
        now = self.clock()
        count = 0
        async with self.engine.begin() as conn:
            for student in batch:
                await conn.execute(
                    guardians.delete().where(guardians.c.student_id == student.student_id)
                )
                await conn.execute(
                    students.delete().where(students.c.student_id == student.student_id)
                )
                await conn.execute(
                    students.insert().values(
                        student_id=student.student_id,
                        name=student.name,
                        language=student.language,
                        time_zone=student.time_zone,
                        updated_at=now,
                    )
                )
                await conn.execute(
                    guardians.insert(),
                    [
                        _guardian_row(student.student_id, i, g)
                        for i, g in enumerate(student.guardians)
                    ],
                )
                count += 1
        return count

    async def get(self, student_id: str) -> Student | None:
        """A student with their guardians in contact order, or None."""
        async with self.engine.connect() as conn:
            srow = (
                await conn.execute(sa.select(students).where(students.c.student_id == student_id))
            ).first()
            if srow is None:
                return None
            grows = (
                await conn.execute(
                    sa.select(guardians)
                    .where(guardians.c.student_id == student_id)
                    .order_by(guardians.c.position)
                )
            ).all()
        return Student(
            student_id=srow.student_id,
            name=srow.name,
            language=srow.language,
            time_zone=srow.time_zone,
            guardians=tuple(_guardian(g._mapping) for g in grows),
        )

    async def count(self) -> int:
        """How many students the directory holds."""
        async with self.engine.connect() as conn:
            return int(
                (await conn.execute(sa.select(sa.func.count()).select_from(students))).scalar_one()
            )


def _guardian_row(student_id: str, position: int, g: Guardian) -> dict[str, Any]:
    return {
        "student_id": student_id,
        "position": position,
        "name": g.name,
        "phone": g.phone,
        "relation": g.relation,
        "preferred_channel": g.preferred_channel,
        "language": g.language,
        "time_zone": g.time_zone,
        "quiet_start": None if g.quiet_hours is None else f"{g.quiet_hours.start:%H:%M}",
        "quiet_end": None if g.quiet_hours is None else f"{g.quiet_hours.end:%H:%M}",
        "do_not_call": g.do_not_call,
    }


def _guardian(m: sa.RowMapping) -> Guardian:
    quiet = None
    if m["quiet_start"] and m["quiet_end"]:
        quiet = parse_quiet_hours(f"{m['quiet_start']}-{m['quiet_end']}")
    return Guardian(
        name=m["name"],
        phone=m["phone"],
        relation=m["relation"],
        preferred_channel=m["preferred_channel"],
        language=m["language"],
        time_zone=m["time_zone"],
        quiet_hours=quiet,
        do_not_call=bool(m["do_not_call"]),
    )


def validate_file(path: Path) -> tuple[list[Student], list[RowError], dict[str, list[int]]]:
    """Read and validate an import file without touching any database."""
    try:
        rows = read_rows(path)
    except ValueError as exc:
        line_text, _, message = str(exc).partition(": ")
        line = int(line_text.removeprefix("line ")) if line_text.startswith("line ") else 0
        return [], [RowError(line, "", message or str(exc))], {}
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


def family_prefs(student: Student) -> FamilyPrefs:
    """What the outreach stages need to know, from the first guardian to contact.

    Do-not-call holds for the family when any guardian asked for it.
    """
    if not student.guardians:
        return FamilyPrefs(time_zone=student.time_zone)
    first = student.guardians[0]
    quiet = first.quiet_hours
    return FamilyPrefs(
        time_zone=first.time_zone,
        quiet_start=None if quiet is None else f"{quiet.start:%H:%M}",
        quiet_end=None if quiet is None else f"{quiet.end:%H:%M}",
        do_not_call=any(g.do_not_call for g in student.guardians),
        preferred_channel=first.preferred_channel,
    )


def describe(student: Student) -> dict[str, Any]:
    """A log-safe summary of a student (phone numbers masked)."""
    return {
        "student_id": student.student_id,
        "guardians": [
            {"relation": g.relation, "phone": mask_phone(g.phone), "channel": g.preferred_channel}
            for g in student.guardians
        ],
    }
