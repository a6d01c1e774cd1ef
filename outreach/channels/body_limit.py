"""A cap on request bodies (pure ASGI): 413 before reading more than the cap.

A declared `Content-Length` over the cap is refused before the app runs and before
any of the body is read; a body without one (chunked) is counted as the app reads
it, and the read that crosses the cap ends the request with 413 instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

TWILIO_MAX_BODY: Final = 64 * 1024  # Twilio's callbacks are a few hundred bytes
DESK_MAX_BODY: Final = 1024 * 1024  # the desk's JSON bodies are a few hundred bytes


class BodyTooLarge(Exception):
    """Raised by the counting `receive` once the body passes the cap."""


class BodyLimit:
    """Refuse request bodies over `max_bytes` (or a smaller cap under a path prefix) with 413."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, prefixes: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.prefixes = dict(prefixes or {})

    def cap_for(self, path: str) -> int:
        """The cap for a request path (the smallest that applies)."""
        caps = [n for p, n in self.prefixes.items() if path.startswith(p)]
        return min([self.max_bytes, *caps])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app with a counting `receive`; 413 when the body is too large."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.cap_for(str(scope.get("path", "")))
        declared = _content_length(scope)
        if declared is not None and declared > cap:
            await _too_large(send, cap)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    raise BodyTooLarge(seen)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await _too_large(send, cap)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isascii() and text.isdigit() and len(text) < 20 else None
    return None


async def _too_large(send: Send, cap: int) -> None:
    body = json.dumps({"error": "body_too_large", "detail": f"at most {cap} bytes"}).encode()
    await send({
        "type": "http.response.start",
        "status": 413,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close")],
    })
    await send({"type": "http.response.body", "body": body})
