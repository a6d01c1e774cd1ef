"""Import files of the family directory (CSV, JSON array, JSON Lines): rows to students.

Pure: the text in, the valid students and every problem by line number out.
"""

from __future__ import annotations

import csv
import functools
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
OWN_COLUMNS: Final = (*REQUIRED_COLUMNS, "phone")  # checked row by row; the rest cached
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
MAX_FIELD_CHARS: Final = 131_072  # a longer field is an error (as CSV's own field limit)
MAX_CHARS: Final = {"student_id": 128, "student_name": 200, "guardian_name": 200,
                    "relation": 32}  # the directory's columns
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
    if type(value) is str:
        return value.strip()
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


Shared = tuple[tuple[tuple[str, str], ...], str, str, str, "QuietHours | None", bool]


@functools.lru_cache(maxsize=4096, typed=True)  # typed: 1.0 and True are not one value
def _shared(channel: str, language: str, tz: str, quiet_text: str, dnc: Any) -> Shared:
    """Checks of the fields most rows share (cached: a file repeats a few values)."""
    errors: list[tuple[str, str]] = []
    channel = channel or "call"
    if channel not in CHANNELS:
        errors.append(("preferred_channel", f"must be one of {', '.join(CHANNELS)}"))
    language = language or DEFAULT_LANGUAGE
    if language not in LANGUAGES:
        errors.append(("language", f"must be one of {', '.join(LANGUAGES)}"))
    tz = tz or DEFAULT_TIME_ZONE
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(("time_zone", f"unknown IANA time zone {tz!r}"))
    quiet: QuietHours | None = None
    try:
        quiet = parse_quiet_hours(quiet_text)
    except ValueError as exc:
        errors.append(("quiet_hours", str(exc)))
    do_not_call = False
    try:
        do_not_call = _bool(dnc)
    except ValueError as exc:
        errors.append(("do_not_call", str(exc)))
    return tuple(errors), channel, language, tz, quiet, do_not_call


def parse_guardian(line: int, row: Mapping[str, Any]) -> tuple[Guardian | None, list[RowError]]:
    """Validate one row's guardian; every problem is reported, not just the first."""
    if isinstance(row, Unparsable):
        return None, [RowError(line, "", row.message)]
    errors: list[RowError] = []

    def bad(name: str, message: str) -> None:
        errors.append(RowError(line, name, message))

    t = {name: _text(row, name) for name in OWN_COLUMNS}
    for name in REQUIRED_COLUMNS:
        if not t[name]:
            bad(name, "required")
    for name, most in MAX_CHARS.items():
        if len(t[name]) > most:
            bad(name, f"longer than {most} characters")
    dnc = row.get("do_not_call")
    shared, channel, language, tz, quiet, do_not_call = _shared(
        _text(row, "preferred_channel"), _text(row, "language"), _text(row, "time_zone"),
        _text(row, "quiet_hours"), dnc if isinstance(dnc, str | bool | int | float | None)
        else repr(dnc))
    phone = t["phone"].replace(" ", "").replace("-", "") or None
    if phone is None and channel != "chat":
        bad("phone", "required unless preferred_channel is chat")
    elif phone is not None and not E164.match(phone):
        bad("phone", "not an E.164 number (e.g. +8613812345678)")
    errors.extend(RowError(line, name, message) for name, message in shared)
    if errors:
        errors.sort(key=lambda e: COLUMNS.index(e.field))
        return None, errors
    guardian = Guardian(
        name=t["guardian_name"],
        phone=phone,
        relation=t["relation"],
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
    try:
        for row in reader:
            out.append((start, dict(row)))
            start = reader.line_num + 1
    except csv.Error as exc:  # e.g. a field over csv's limit (MAX_FIELD_CHARS)
        raise ValueError(f"line {start}: unreadable CSV ({exc})") from None
    return out


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _jsonl_rows(text: str) -> list[tuple[int, dict[str, Any]]]:
    out: list[tuple[int, dict[str, Any]]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.strip():
            try:
                obj = check_object(json.loads(raw))
            except json.JSONDecodeError as exc:
                obj = Unparsable(f"invalid JSON ({exc.msg})")
            except RecursionError:
                obj = Unparsable("JSON nested too deeply")
            out.append((number, obj))
    return out


class Unparsable(dict[str, Any]):
    """A row that cannot be read (not JSON, not UTF-8...): validated as its line's error."""

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
        except RecursionError:
            raise ValueError(f"line {line}: JSON nested too deeply") from None
        out.append((line, check_object(_object(line, obj))))
        pos = ws.match(text, pos).end()  # type: ignore[union-attr]
        if text.startswith("]", pos):
            return out
        if not text.startswith(",", pos):
            raise ValueError(f"line {_line_of(text, pos)}: expected ',' or ']'")
        pos = ws.match(text, pos + 1).end()  # type: ignore[union-attr]


def check_object(obj: Any) -> dict[str, Any]:
    """A decoded JSON row as it may be validated, or an :class:`Unparsable` saying why not.

    Fields must be text, numbers, true/false or null, each at most `MAX_FIELD_CHARS`
    characters: a nested value or a huge one is that line's error, not a crash.
    """
    if not isinstance(obj, dict):
        return Unparsable(f"expected an object, got {type(obj).__name__}")
    for key, value in obj.items():
        if isinstance(value, dict | list):
            return Unparsable(f"{key[:64]}: must be text, a number or true/false")
        if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
            return Unparsable(f"{key[:64]}: longer than {MAX_FIELD_CHARS} characters")
    return obj


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
