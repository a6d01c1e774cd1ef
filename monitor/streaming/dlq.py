"""Dead-letter records: original bytes unchanged, the reason in headers."""

from __future__ import annotations

from detectors.telemetry import BadRecord

REASON_HEADER = "firstcall.dlq.reason"
DETAIL_HEADER = "firstcall.dlq.detail"
SOURCE_HEADER = "firstcall.dlq.source"

_MAX_DETAIL = 512


def dlq_headers(bad: BadRecord, topic: str, partition: int, offset: int) -> list[tuple[str, bytes]]:
    """Headers of a dead-lettered record: reason code, detail, and where it came from."""
    return [
        (REASON_HEADER, bad.reason.encode()),
        (DETAIL_HEADER, bad.detail[:_MAX_DETAIL].encode("utf-8", "replace")),
        (SOURCE_HEADER, f"{topic}/{partition}/{offset}".encode()),
    ]


def header(headers: object, name: str) -> bytes | None:
    """The value of header `name` in a record's headers, or None."""
    for k, v in headers or ():  # type: ignore[attr-defined]
        if k == name:
            return bytes(v)
    return None
