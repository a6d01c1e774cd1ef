"""Structured JSON logs with phone numbers redacted everywhere, and tokens in library lines."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, Final, TextIO

import structlog

from outreach.channels.token_redaction import redact_tokens

REDACTED: Final = "[phone]"
_STDLIB_HANDLER: Final = "firstcall-json"
_PHONE_KEYS: Final = frozenset({"phone", "phone_number", "msisdn", "to_number", "from_number"})

# +E.164 (with or without separators) and common national formats such as
# (555) 123-4567, 555-123-4567, 555.123.4567, 0151 2345 6789. Bare digit runs
# (epoch timestamps, counters) are left alone: a separator or a "+" is required.
PHONE_RE: Final = re.compile(
    r"""
    (?<![\w+])
    (?:
        \+\d{1,3}[\s.-]?\(?\d{1,4}\)?(?:[\s.-]?\d{2,4}){2,4}
      | \(\d{2,4}\)[\s.-]?\d{3,4}[\s.-]\d{3,4}
      | \d{3}[.-]\d{3}[.-]\d{4}
      | 0\d{2,4}[\s/-]\d{3,4}[\s-]?\d{3,5}
    )
    (?![\w])
    """,
    re.VERBOSE,
)


def redact_text(text: str) -> str:
    """Replace every phone number in `text` by a placeholder."""
    return PHONE_RE.sub(REDACTED, text)


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: REDACTED if k in _PHONE_KEYS else _redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


def redact_phones(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: redact phone numbers in the message and every field."""
    for key, value in list(event_dict.items()):
        event_dict[key] = REDACTED if key in _PHONE_KEYS else _redact(value)
    return event_dict


def redact_library_tokens(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: tokens in a library's message (`GET /?token=...`, `Bearer ...`)."""
    event = event_dict.get("event")
    if isinstance(event, str):
        event_dict["event"] = redact_tokens(event)
    return event_dict


def configure(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Configure structlog for one JSON object per line, phone numbers redacted.

    Libraries that log through the standard `logging` module (aiokafka's "Heartbeat
    failed ... rebalancing", uvicorn) come out the same way: JSON, with their logger's
    name, redacted, on the same stream; a token in their message (an access log's
    `?token=`, a `Bearer` header) becomes `[redacted]`.
    """
    out = stream or sys.stderr
    numeric = logging.getLevelName(level.upper())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            redact_phones,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.set_name(_STDLIB_HANDLER)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_library_tokens,
            redact_phones,
            structlog.processors.JSONRenderer(),
        ],
    ))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _STDLIB_HANDLER]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)


def reset() -> None:
    """Undo :func:`configure` (structlog's defaults, no JSON handler on the root logger)."""
    structlog.reset_defaults()
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _STDLIB_HANDLER]:
        root.removeHandler(old)


def get_logger(name: str, **bound: Any) -> Any:
    """A logger with `component` and any ids (session_id, classroom_id...) bound."""
    return structlog.get_logger(name).bind(component=name, **bound)


def bind_ids(
    *, session_id: str | None = None, classroom_id: str | None = None, **more: Any
) -> None:
    """Bind ids to every log line of the current task (contextvars)."""
    ids = {"session_id": session_id, "classroom_id": classroom_id, **more}
    structlog.contextvars.bind_contextvars(**{k: v for k, v in ids.items() if v is not None})


def clear_ids() -> None:
    """Forget the ids bound to the current task."""
    structlog.contextvars.clear_contextvars()
