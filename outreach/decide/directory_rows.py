"""Import files of the family directory (CSV, JSON array, JSON Lines): rows to students.

Pure: the text in, the valid students and every problem by line number out.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from outreach.decide.family import (
    CHANNELS,
    DEFAULT_LANGUAGE,
    DEFAULT_TIME_ZONE,
    LANGUAGES,
    Guardian,
    QuietHours,
    Student,
    parse_quiet_hours,
)

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
TRUE = {"true", "yes", "y", "1"}
FALSE = {"false", "no", "n", "0", ""}


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in an import file, by line number."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", {self.field}" if self.field else "")
        return f"{where}: {self.message}"


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


def rows_of(text: str, suffix: str) -> list[tuple[int, dict[str, Any]]]:
    """Numbered rows of a .csv, .json (array) or .jsonl file's text; ValueError names the line."""
    if suffix.lower() == ".csv":
        return _csv_rows(text)
    if suffix.lower() in (".jsonl", ".ndjson"):
        return _jsonl_rows(text)
    if suffix.lower() == ".json":
        return _json_array_rows(text)
    raise ValueError(f"line 0: unsupported file type {suffix!r} (use .csv, .json, .jsonl)")


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


def file_error(exc: ValueError) -> RowError:
    """A `line N: message` ValueError (as `rows_of` raises them) as a RowError; line 0 if none."""
    line_text, _, message = str(exc).partition(": ")
    line = int(line_text.removeprefix("line ")) if line_text.startswith("line ") else 0
    return RowError(line, "", message or str(exc))


def validate_text(
    text: str, suffix: str
) -> tuple[list[Student], list[RowError], dict[str, list[int]]]:
    """Validate an import file's text (`suffix`: its type): students, errors, lines by student."""
    try:
        rows = rows_of(text, suffix)
    except ValueError as exc:
        return [], [file_error(exc)], {}
    return parse_rows(rows)
