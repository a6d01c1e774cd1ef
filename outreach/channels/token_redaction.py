"""Tokens never reach the logs: a logging filter for the chat gateway's websockets logger.

The websockets library logs the request line (`GET /?token=...`), the headers
(`Authorization: Bearer ...`) and, at debug level, every frame (`{"type": "auth",
"token": ...}`); this filter rewrites each of those to `[redacted]` before any handler
sees the record.
"""

from __future__ import annotations

import logging
import re
from typing import Final

REDACTED: Final = "[redacted]"
_PATTERNS: Final = (
    re.compile(r"(?i)([?&;]token=)[^&\s'\"]+"),
    re.compile(r"(?i)(bearer\s+)[^\s'\"]+"),
    re.compile(r"""(?i)(\\?["']token\\?["']\s*:\s*\\?["'])[^"'\\]*"""),
)


def redact_tokens(text: str) -> str:
    """`text` with every query, bearer and JSON-frame token replaced by a placeholder."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


class RedactTokens(logging.Filter):
    """Rewrites a record's message without tokens; drops nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact in place; always keep the record."""
        message = record.getMessage()
        clean = redact_tokens(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


def redacting_logger(name: str) -> logging.Logger:
    """The logger `name` with a :class:`RedactTokens` filter (added once)."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactTokens) for f in logger.filters):
        logger.addFilter(RedactTokens())
    return logger
