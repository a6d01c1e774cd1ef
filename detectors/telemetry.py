"""Strict, fast decoding of live-class telemetry (contract: telemetry v1).

Every record either becomes a typed event or a :class:`BadRecord` with a reason
code; decoding never raises.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated, Final, Literal

import msgspec

# Plausibility limits: anything beyond is "absurd" and dead-lettered.
MAX_MESSAGE_BYTES: Final = 16 * 1024
MIN_TS_MS: Final = 946_684_800_000  # 2000-01-01
MAX_TS_MS: Final = 4_102_444_800_000  # 2100-01-01

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Ts = Annotated[int, msgspec.Meta(ge=MIN_TS_MS, le=MAX_TS_MS)]
Label = Annotated[str, msgspec.Meta(max_length=128)]
Ms = Annotated[float, msgspec.Meta(ge=0, le=600_000)]
NonNegInt = Annotated[int, msgspec.Meta(ge=0, le=600_000)]


class Client(msgspec.Struct, frozen=True):
    """The class app a student uses."""

    app_version: Label
    os: Label
    device: Literal["pc", "mac", "ipad", "android_pad", "phone"]


class Network(msgspec.Struct, frozen=True):
    """Where the class media travels: the line is isp + region + edge."""

    conn: Literal["wifi", "wired", "cellular", "unknown"]
    isp: Label
    region: Label
    edge: Label


class Lesson(msgspec.Struct, frozen=True):
    """The lesson's scheduled times."""

    scheduled_start: Ts
    scheduled_end: Ts


class _Event(msgspec.Struct, tag_field="type", frozen=True, gc=False):
    v: Literal[1]
    ts: Ts
    session_id: Id
    student_id: Id
    classroom_id: Id


class Join(_Event, tag="join", frozen=True, gc=False):
    """The client entered the lesson; carries the session's context."""

    client: Client
    network: Network
    lesson: Lesson | None = None


class Stats(_Event, tag="stats", frozen=True, gc=False):
    """One measurement interval of the teacher's media."""

    interval_ms: Annotated[int, msgspec.Meta(ge=100, le=60_000)]
    rtt_ms: Ms
    jitter_ms: Ms
    loss_pct: Annotated[float, msgspec.Meta(ge=0, le=100)]
    recv_kbps: Annotated[float, msgspec.Meta(ge=0, le=1_000_000)]
    fps: Annotated[float, msgspec.Meta(ge=0, le=240)]
    freeze_ms: NonNegInt
    audio_stall_ms: NonNegInt


class Heartbeat(_Event, tag="heartbeat", frozen=True, gc=False):
    """Connected to the lesson, no media statistics."""


class Reconnect(_Event, tag="reconnect", frozen=True, gc=False):
    """The client is trying to re-establish media."""

    attempt: Annotated[int, msgspec.Meta(ge=1, le=100_000)]
    ok: bool


class Disconnect(_Event, tag="disconnect", frozen=True, gc=False):
    """The client lost the lesson."""

    reason: Literal["network", "app_crash", "kicked", "unknown"]


class Leave(_Event, tag="leave", frozen=True, gc=False):
    """The student left normally."""


Event = Join | Stats | Heartbeat | Reconnect | Disconnect | Leave
EVENT_TYPES: Final = ("join", "stats", "heartbeat", "reconnect", "disconnect", "leave")

# Reason codes of bad records (labels of the bad-records metric).
NOT_JSON: Final = "not_json"
NOT_OBJECT: Final = "not_object"
OVERSIZED: Final = "oversized"
UNKNOWN_VERSION: Final = "unknown_version"
UNKNOWN_TYPE: Final = "unknown_type"
MISSING_FIELD: Final = "missing_field"
MISSING_ID: Final = "missing_id"
WRONG_TYPE: Final = "wrong_type"
BAD_ID: Final = "bad_id"
OUT_OF_RANGE: Final = "out_of_range"
BAD_VALUE: Final = "bad_value"
TOO_DEEP: Final = "too_deep"
REASONS: Final = (
    NOT_JSON,
    NOT_OBJECT,
    OVERSIZED,
    UNKNOWN_VERSION,
    UNKNOWN_TYPE,
    MISSING_FIELD,
    MISSING_ID,
    WRONG_TYPE,
    BAD_ID,
    OUT_OF_RANGE,
    BAD_VALUE,
    TOO_DEEP,
)

_ID_FIELDS: Final = frozenset({"session_id", "student_id", "classroom_id"})


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A record that does not fit the contract, kept whole with its reason."""

    reason: str
    detail: str
    raw: bytes


_PATH = re.compile(r"at `\$(?:\.(\w+))?")
_RANGE = re.compile(r"Expected `\w+` (?:of length )?[<>]=")


def classify(error: msgspec.DecodeError, raw: bytes) -> BadRecord:
    """Turn a msgspec error into a bad record with a reason code."""
    msg = str(error)
    if not isinstance(error, msgspec.ValidationError):
        return BadRecord(NOT_JSON, msg, raw)
    m = _PATH.search(msg)
    field = m.group(1) if m else None
    if "missing required field" in msg:
        missing = msg.rsplit("`", 2)[-2] if msg.count("`") >= 2 else ""
        return BadRecord(MISSING_ID if missing in _ID_FIELDS else MISSING_FIELD, msg, raw)
    if m and m.group(0) == "at `$" and field is None:
        return BadRecord(NOT_OBJECT, msg, raw)
    if msg.startswith("Expected `object`") and field is None:
        return BadRecord(NOT_OBJECT, msg, raw)
    if field == "v":
        return BadRecord(UNKNOWN_VERSION, msg, raw)
    if field == "type":
        return BadRecord(UNKNOWN_TYPE, msg, raw)
    if field in _ID_FIELDS:
        return BadRecord(BAD_ID if "length" in msg else WRONG_TYPE, msg, raw)
    if _RANGE.search(msg):
        return BadRecord(OUT_OF_RANGE, msg, raw)
    if msg.startswith("Expected `"):
        return BadRecord(WRONG_TYPE, msg, raw)
    return BadRecord(BAD_VALUE, msg, raw)


_FIRST: Final = operator.itemgetter(0)
_LAST: Final = operator.itemgetter(-1)
_OPEN: Final = {ord("{")}
_CLOSE: Final = {ord("}")}


class TelemetryDecoder:
    """Decodes telemetry records, one at a time or in batches, never raising."""

    def __init__(self, max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self._one = msgspec.json.Decoder(Event)
        self.max_message_bytes = max_message_bytes

    def decode(self, raw: bytes) -> Event | BadRecord:
        """Decode one JSON record into an event or a bad record."""
        if len(raw) > self.max_message_bytes:
            return BadRecord(OVERSIZED, f"{len(raw)} bytes > {self.max_message_bytes}", raw)
        try:
            event: Event = self._one.decode(raw)
        except msgspec.DecodeError as exc:
            return classify(exc, raw)
        except RecursionError:
            return BadRecord(TOO_DEEP, "JSON nested too deeply", raw)
        return event

    def decode_batch(self, raws: list[bytes]) -> list[Event | BadRecord]:
        """Decode many records at once; each record stands alone (one record, one event).

        The fast path decodes the records as one JSON stream in one call. It is taken only
        when every record starts with `{` and ends with `}`: such a record cannot be empty,
        nor continue into the next one (a value that ends in `}` is followed by `,` or a
        closing bracket, never by `{`; a newline cannot sit inside a string), so when the
        stream yields exactly one value per record, value k is record k. Otherwise, or when
        any record does not decode, the batch goes one by one.
        """
        if not raws:
            return []
        try:
            firsts = set(map(_FIRST, raws))
            lasts = set(map(_LAST, raws))
        except IndexError:  # an empty record
            firsts = lasts = set()
        if firsts == _OPEN and lasts == _CLOSE and max(map(len, raws)) <= self.max_message_bytes:
            try:
                events: list[Event | BadRecord] = list(self._one.decode_lines(b"\n".join(raws)))
            except (msgspec.DecodeError, RecursionError):
                pass
            else:
                if len(events) == len(raws):
                    return events
        return [self.decode(r) for r in raws]


def iter_lines(chunks: Iterable[bytes], batch: int = 2048) -> Iterator[list[bytes]]:
    """Group a stream of JSON Lines into batches of non-empty lines."""
    out: list[bytes] = []
    for line in chunks:
        line = line.strip()
        if not line:
            continue
        out.append(line)
        if len(out) >= batch:
            yield out
            out = []
    if out:
        yield out
