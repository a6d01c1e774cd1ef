"""The websocket hub: consoles connect, authenticate, and hear what changed.

Protocol (JSON text frames): the browser sends `{"type": "auth", "token": ...}`
first (tokens stay out of URLs); the server answers `{"type": "hello", "user",
"role"}` or closes with code 4401. Then the server sends `{"type": "changed",
"topics": [...]}` (coalesced, at most every `interval_s`) and the page refetches.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable

import structlog
from starlette.websockets import WebSocket, WebSocketDisconnect

from outreach.store.users import User, UserStore

log = structlog.get_logger(__name__)
AUTH_TIMEOUT_S = 5.0


class Presence:
    """Which agents have a console open, and since when each has been idle."""

    def __init__(self, clock: Callable[[], int]) -> None:
        self.clock = clock
        self.connections: dict[str, int] = {}
        self.idle_since: dict[str, int] = {}

    def connect(self, name: str) -> None:
        """An agent's console connected."""
        self.connections[name] = self.connections.get(name, 0) + 1
        self.idle_since.setdefault(name, self.clock())

    def disconnect(self, name: str) -> None:
        """An agent's console went away."""
        n = self.connections.get(name, 0) - 1
        if n <= 0:
            self.connections.pop(name, None)
        else:
            self.connections[name] = n

    def idle(self, name: str) -> None:
        """The agent finished or gave up a case."""
        self.idle_since[name] = self.clock()

    def online(self) -> list[str]:
        """Agents with a console open."""
        return sorted(self.connections)


class Hub:
    """Connected consoles; `notify(topic)` tells all of them to refresh that topic."""

    def __init__(self, users: UserStore, presence: Presence, interval_s: float = 0.25) -> None:
        self.users = users
        self.presence = presence
        self.interval_s = interval_s
        self._sockets: set[WebSocket] = set()
        self._pending: set[str] = set()
        self._wake: asyncio.Event | None = None
        self._flusher: asyncio.Task[None] | None = None

    def notify(self, topic: str) -> None:
        """Something under `topic` (queue, dashboard, case:<id>) changed."""
        self._pending.add(topic)
        if self._wake is not None:
            self._wake.set()

    async def serve(self, ws: WebSocket) -> None:
        """Handle one console connection until it closes."""
        await ws.accept()
        user = await self._authenticate(ws)
        if user is None:
            return
        self._ensure_flusher()
        self._sockets.add(ws)
        if user.role == "agent":
            self.presence.connect(user.name)
            self.notify("queue")
        log.info("console_connected", user=user.name, role=user.role)
        try:
            while True:
                await ws.receive_text()  # pings; nothing else is expected
        except WebSocketDisconnect:
            pass
        finally:
            self._sockets.discard(ws)
            if user.role == "agent":
                self.presence.disconnect(user.name)
                self.notify("queue")

    async def _authenticate(self, ws: WebSocket) -> User | None:
        try:
            frame = json.loads(await asyncio.wait_for(ws.receive_text(), AUTH_TIMEOUT_S))
            token = str(frame.get("token", "")) if frame.get("type") == "auth" else ""
        except (TimeoutError, ValueError, AttributeError, WebSocketDisconnect):
            token = ""
        user = await self.users.authenticate(token) if token else None
        if user is None:
            with contextlib.suppress(Exception):
                await ws.send_text(json.dumps({"type": "error", "error": "bad_token"}))
                await ws.close(code=4401)
            return None
        await ws.send_text(json.dumps({"type": "hello", "user": user.name, "role": user.role}))
        return user

    def _ensure_flusher(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._wake = asyncio.Event()
            self._flusher = asyncio.create_task(self._flush_loop())

    async def _flush_loop(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(self.interval_s)
            topics, self._pending = sorted(self._pending), set()
            if not topics:
                continue
            text = json.dumps({"type": "changed", "topics": topics})
            for ws in list(self._sockets):
                try:
                    await ws.send_text(text)
                except Exception:  # a socket that died between frames
                    self._sockets.discard(ws)

    async def aclose(self) -> None:
        """Stop the flusher."""
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
