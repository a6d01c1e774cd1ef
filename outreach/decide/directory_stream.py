"""Import files read as a stream: numbered rows from raw lines, every bad line an error row.

Pure: bytes in (the file's lines, each at most `MAX_LINE_BYTES`), rows out, one at a
time, so a million-row file is never held whole. A line that is not UTF-8, too long,
not JSON, nested too deeply or with a field over `MAX_FIELD_CHARS` becomes an
:class:`Unparsable` row naming the problem (validated as that line's error); only a
broken file structure (CSV header, JSON array syntax) raises `ValueError("line N: ...")`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

from outreach.decide.directory_rows import (
    MAX_FIELD_CHARS,
    REQUIRED_COLUMNS,
    Unparsable,
    check_object,
)

MAX_LINE_BYTES: Final = 1 << 20  # a longer line is an error (and never read whole)
MAX_JSON_OBJECT_CHARS: Final = 1 << 20  # one object of a .json array
NOT_UTF8: Final = "not UTF-8 text (save the file as UTF-8)"
TOO_LONG: Final = f"line longer than {MAX_LINE_BYTES} bytes"
Row = tuple[int, Mapping[str, Any]]


class TooLong(bytes):
    """The start of a line longer than `MAX_LINE_BYTES` (the rest was skipped)."""


def _decode(number: int, raw: bytes) -> str | Unparsable:
    if isinstance(raw, TooLong):
        return Unparsable(TOO_LONG)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Unparsable(f"{NOT_UTF8}: byte {exc.start + 1} of the line")
    return text.removeprefix("\ufeff") if number == 1 else text


def stream_rows(lines: Iterable[bytes], suffix: str) -> Iterator[Row]:
    """Numbered rows of a .csv, .jsonl or .json file's raw lines; ValueError names the line."""
    kind = suffix.lower()
    if kind == ".csv":
        return _csv_rows(lines)
    if kind in (".jsonl", ".ndjson"):
        return _jsonl_rows(lines)
    if kind == ".json":
        return _json_array_rows(lines)
    raise ValueError(f"line 0: unsupported file type {suffix!r} (use .csv, .json, .jsonl)")


def _jsonl_rows(lines: Iterable[bytes]) -> Iterator[Row]:
    for number, raw in enumerate(lines, start=1):
        text = _decode(number, raw)
        if isinstance(text, Unparsable):
            yield number, text
        elif text.strip():
            yield number, _json_row(text)


def _json_row(text: str) -> Mapping[str, Any]:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return Unparsable(f"invalid JSON ({exc.msg})")
    except RecursionError:
        return Unparsable("JSON nested too deeply")
    return check_object(obj)


def _csv_rows(lines: Iterable[bytes]) -> Iterator[Row]:
    bad: dict[int, str] = {}

    def texts() -> Iterator[str]:
        for number, raw in enumerate(lines, start=1):
            text = _decode(number, raw)
            if isinstance(text, Unparsable):
                bad[number] = text.message
                text = "\n"  # an empty row in its place: reported below
            yield text

    reader = csv.reader(texts())
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        header = []
    except csv.Error as exc:
        raise ValueError(f"line 1: {exc}") from None
    if 1 in bad:
        raise ValueError(f"line 1: {bad[1]}")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ValueError(f"line 1: missing columns {', '.join(missing)}")
    start = 2
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            message = str(exc)
            if "field larger than field limit" in message:
                message = f"a field longer than {MAX_FIELD_CHARS} characters"
            yield start, Unparsable(f"unreadable CSV ({message})")
            start = reader.line_num + 1
            continue
        end = reader.line_num
        problem = next((bad[n] for n in range(start, end + 1) if n in bad), None)
        if problem is not None:
            yield start, Unparsable(problem)
        elif values:
            yield start, dict(zip(header, values, strict=False))
        start = end + 1


def _json_array_rows(lines: Iterable[bytes]) -> Iterator[Row]:
    """A JSON array of objects, decoded object by object from a sliding window of lines."""
    decoder = json.JSONDecoder()
    source = enumerate(lines, start=1)
    buf, pos, line_of_buf = "", 0, 1  # buf[0] is on line `line_of_buf`
    done = False

    def more() -> bool:
        nonlocal buf, pos, line_of_buf, done
        if done:
            return False
        try:
            number, raw = next(source)
        except StopIteration:
            done = True
            return False
        text = _decode(number, raw)
        if isinstance(text, Unparsable):
            raise ValueError(f"line {number}: {text.message}")
        if pos > 65_536:  # drop what was read
            line_of_buf += buf.count("\n", 0, pos)
            buf, pos = buf[pos:], 0
        buf += text
        return True

    def skip_ws() -> str:
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n":
                pos += 1
            if pos < len(buf):
                return buf[pos]
            if not more():
                return ""

    def line() -> int:
        return line_of_buf + buf.count("\n", 0, pos)

    if skip_ws() != "[":
        raise ValueError(f"line {line()}: expected a JSON array of objects")
    pos += 1
    if skip_ws() == "]":
        return
    while True:
        at = line()
        while True:
            try:
                obj, end = decoder.raw_decode(buf, pos)
                break
            except json.JSONDecodeError as exc:
                if len(buf) - pos > MAX_JSON_OBJECT_CHARS or not more():
                    raise ValueError(f"line {at + buf.count(chr(10), pos, exc.pos)}: "
                                     f"invalid JSON ({exc.msg})") from None
            except RecursionError:
                raise ValueError(f"line {at}: JSON nested too deeply") from None
        pos = end
        if not isinstance(obj, dict):
            raise ValueError(f"line {at}: expected an object, got {type(obj).__name__}")
        yield at, check_object(obj)
        following = skip_ws()
        if following == "]":
            return
        if following != ",":
            raise ValueError(f"line {line()}: expected ',' or ']'")
        pos += 1
        skip_ws()
