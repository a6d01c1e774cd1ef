"""From a request body to records: parse, validate against telemetry v1, check the session.

Pure: no I/O. A body is a JSON array of events, one JSON object, or NDJSON (one object
a line, what `text/plain` beacons carry). Each event either becomes a record for
`class.telemetry` (its bytes as sent, keyed by session_id), or an error with a reason:
a contract violation (the decoder's reason; also dead-lettered) or `wrong_session`
(an event of a session the token does not grant; refused, not dead-lettered).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import msgspec

from detectors.telemetry import NOT_JSON, BadRecord, TelemetryDecoder
from monitor.collect.sink import Record
from monitor.collect.tokens import SessionGrant
from monitor.streaming.dlq import DETAIL_HEADER, REASON_HEADER, SOURCE_HEADER

WRONG_SESSION: Final = "wrong_session"
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_MAX_DETAIL: Final = 200


class TooManyEvents(ValueError):
    """The body holds more events than one request may."""


@dataclass(frozen=True, slots=True)
class EventError:
    """Why event `index` of a request was not accepted."""

    index: int
    reason: str
    detail: str


@dataclass(slots=True)
class Ingest:
    """What one request turns into."""

    records: list[Record] = field(default_factory=list)
    dead_letters: list[Record] = field(default_factory=list)
    errors: list[EventError] = field(default_factory=list)
    types: dict[str, int] = field(default_factory=dict)  # accepted events by type


def split_body(body: bytes, max_events: int) -> list[bytes] | BadRecord:
    """The raw events of a body (array, object or NDJSON), or why the body is unreadable."""
    text = body.strip()
    if not text:
        return []
    if text[:1] == b"[":
        try:
            items = [bytes(r) for r in _RAW_LIST.decode(text)]
        except msgspec.DecodeError as exc:
            return BadRecord(NOT_JSON, str(exc)[:_MAX_DETAIL], body[:1024])
    else:
        items = [line.strip() for line in text.split(b"\n") if line.strip()]
    if len(items) > max_events:
        raise TooManyEvents(f"{len(items)} events > {max_events}")
    return items


def ingest(raws: list[bytes], grant: SessionGrant, decoder: TelemetryDecoder,
           topic: str, dlq_topic: str) -> Ingest:
    """Validate each event and sort it into records, dead letters and errors."""
    out = Ingest()
    key = grant.session_id.encode()
    source = f"collect/{grant.session_id}".encode()
    granted = (grant.session_id, grant.student_id, grant.classroom_id)
    records, types = out.records, out.types
    for i, decoded in enumerate(decoder.decode_batch(raws)):
        if isinstance(decoded, BadRecord):
            detail = decoded.detail[:_MAX_DETAIL]
            out.errors.append(EventError(i, decoded.reason, detail))
            out.dead_letters.append(Record(dlq_topic, key, decoded.raw, (
                (REASON_HEADER, decoded.reason.encode()),
                (DETAIL_HEADER, detail.encode("utf-8", "replace")),
                (SOURCE_HEADER, source))))
        elif (decoded.session_id, decoded.student_id, decoded.classroom_id) != granted:
            out.errors.append(EventError(i, WRONG_SESSION,
                                         "the token grants another session"))
        else:
            records.append(Record(topic, key, raws[i]))
            name = type(decoded).__name__
            types[name] = types.get(name, 0) + 1
    return out
