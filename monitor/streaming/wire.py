"""Wire forms of the internal topics: findings, watermarks and line verdicts."""

from __future__ import annotations

from typing import Final

import msgspec

from detectors.findings import Finding
from monitor.streaming.dlq import header

KIND_HEADER: Final = "fc.kind"
TIME_HEADER: Final = "fc.t"
WATERMARK: Final = b"wm"
FINDING: Final = b"finding"
VERDICT: Final = b"verdict"
LINE_START: Final = b"start"


class Watermark(msgspec.Struct, frozen=True, array_like=True):
    """Source `src` (one of `sources`) has sent everything it decided up to event time `t`.

    `clock` is the sender's `--clock` (wall or event; empty from older senders).
    """

    src: int
    sources: int
    t: int
    clock: str = ""


class ClockMismatch(Exception):
    """A job runs on another clock than its sources (`--clock` must match across jobs)."""

    def __init__(self, mine: str, theirs: str, src: int) -> None:
        super().__init__(f"this job runs on the {mine} clock, source {src} on the {theirs} clock")
        self.mine = mine
        self.theirs = theirs
        self.src = src


class LineFinding(Finding, frozen=True, array_like=True):
    """A finding applied to one line only (the line it was re-keyed by)."""

    only: str = ""

    @property
    def line_keys(self) -> tuple[str, ...]:  # type: ignore[override]
        """Just the line this copy of the finding was routed by."""
        return (self.only,)


class LineStart(msgspec.Struct, frozen=True, array_like=True):
    """An episode of a session began at `ts` on line `key` and was detected at `detected_at`."""

    key: str
    ts: int
    session_id: str
    detected_at: int
    active: int = 0  # the line's sessions then (0 from a correlator that did not say)


_WM_ENC = msgspec.json.Encoder()
_WM_DEC = msgspec.json.Decoder(Watermark)


def encode_watermark(wm: Watermark) -> bytes:
    """Compact JSON of a watermark."""
    return _WM_ENC.encode(wm)


def decode_watermark(raw: bytes) -> Watermark:
    """Parse a watermark."""
    return _WM_DEC.decode(raw)


_START_DEC = msgspec.json.Decoder(LineStart)


def encode_line_start(start: LineStart) -> bytes:
    """Compact JSON of a line's episode start."""
    return _WM_ENC.encode(start)


def decode_line_start(raw: bytes) -> LineStart:
    """Parse a line's episode start."""
    return _START_DEC.decode(raw)


def for_line(f: Finding, key: str) -> LineFinding:
    """The copy of `f` that the correlator applies to line `key` only."""
    return LineFinding(*msgspec.structs.astuple(f), key)  # type: ignore[call-arg]


def time_headers(kind: bytes, t: int) -> list[tuple[str, bytes]]:
    """Headers naming the record kind and the event time it was decided at."""
    return [(KIND_HEADER, kind), (TIME_HEADER, str(t).encode())]


def kind_of(headers: object) -> bytes | None:
    """The record kind from its headers."""
    return header(headers, KIND_HEADER)


def time_of(headers: object) -> int:
    """The decision event time from its headers (0 if absent)."""
    raw = header(headers, TIME_HEADER)
    return int(raw) if raw else 0
