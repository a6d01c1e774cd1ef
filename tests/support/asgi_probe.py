"""Drive an ASGI app with a huge request body and count how much of it the app pulled."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message

CHUNK = 64 * 1024


@dataclass
class BigBody:
    """A request body of `total` bytes, handed over in 64 KB chunks as the app asks."""

    total: int
    declare_length: bool = False
    pulled: int = 0
    status: int | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    async def receive(self) -> Message:
        """The next chunk (or a disconnect once everything was read)."""
        if self.pulled >= self.total:
            return {"type": "http.disconnect"}
        n = min(CHUNK, self.total - self.pulled)
        self.pulled += n
        return {"type": "http.request", "body": b"a" * n, "more_body": self.pulled < self.total}

    async def send(self, message: Message) -> None:
        """Keep the response's status, headers and body."""
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")


async def post_big(app: ASGIApp, path: str, big: BigBody,
                   headers: dict[str, str] | None = None) -> BigBody:
    """POST `big` to `path`; returns it with the status and the bytes pulled."""
    head = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    head.append((b"content-type", b"application/x-www-form-urlencoded"))
    if big.declare_length:
        head.append((b"content-length", str(big.total).encode()))
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": head, "client": ("127.0.0.1", 1), "server": ("desk", 80),
    }
    await app(scope, big.receive, big.send)
    return big
