"""The websocket hub: consoles connect, authenticate, and hear what changed.

Protocol (JSON text frames): the browser sends `{"type": "auth", "token": ...}`
first (tokens stay out of URLs); the server answers `{"type": "hello", "user",
"role"}` or closes with code 4401. Then the server sends `{"type": "changed",
"topics": [...]}` (coalesced, at most every `interval_s`; more than `MAX_TOPICS`
become `["*"]`, refresh everything) and the page refetches.
Every `recheck_s` the tokens of open sockets are checked again: a socket whose user
was removed (`firstcall user remove`, from any process) or whose token expired gets
`{"type": "error", "error": "token_revoked"}` and is closed with code 4401.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import structlog
from starlette.websockets import WebSocket, WebSocketDisconnect

from monitor.desk.presence import Presence
from outreach.store.users import User, UserStore, split_token

log = structlog.get_logger(__name__)
AUTH_TIMEOUT_S = 5.0
MAX_TOPICS = 50  # per frame; more become "*"


class Hub:
    """Connected consoles; `notify(topic)` tells all of them to refresh that topic."""

    def __init__(self, users: UserStore, presence: Presence, interval_s: float = 0.25,
                 recheck_s: float = 5.0) -> None:
        self.users = users
        self.presence = presence
        self.interval_s = interval_s
        self.recheck_s = recheck_s
        self._sockets: set[WebSocket] = set()
        self._token_ids: dict[WebSocket, str] = {}
        self._rechecker: asyncio.Task[None] | None = None
        self._pending: set[str] = set()
        self._wake: asyncio.Event | None = None
        self._flusher: asyncio.Task[None] | None = None
        self.version = 0  # changes notified so far (views computed before one are stale)
        self.pushes = 0  # frames sent: a view built before one is stale for who refetches

    def notify(self, topic: str) -> None:
        """Something under `topic` (queue, dashboard, case:<id>) changed."""
        self.version += 1
        self.notify_view(topic)

    def notify_view(self, topic: str) -> None:
        """Only the in-memory live views changed (no database read is stale): tell the pages."""
        self._pending.add(topic)
        if self._wake is not None:
            self._wake.set()

    async def serve(self, ws: WebSocket) -> None:
        """Handle one console connection until it closes."""
        await ws.accept()
        authenticated = await self._authenticate(ws)
        if authenticated is None:
            return
        user, token_id = authenticated
        self._ensure_flusher()
        self._sockets.add(ws)
        self._token_ids[ws] = token_id
        if user.role == "agent":
            self.presence.connect(user.name)
            self.notify("queue")
        log.info("console_connected", user=user.name, role=user.role)
        try:
            while True:
                await ws.receive_text()  # pings; nothing else is expected
        except (WebSocketDisconnect, RuntimeError):  # gone, or closed by `recheck` meanwhile
            pass
        finally:
            self._sockets.discard(ws)
            self._token_ids.pop(ws, None)
            if user.role == "agent":
                self.presence.disconnect(user.name)
                self.notify("queue")

    async def _authenticate(self, ws: WebSocket) -> tuple[User, str] | None:
        try:
            frame = json.loads(await asyncio.wait_for(ws.receive_text(), AUTH_TIMEOUT_S))
            token = str(frame.get("token", "")) if frame.get("type") == "auth" else ""
        except (TimeoutError, ValueError, AttributeError, WebSocketDisconnect):
            token = ""
        user = await self.users.authenticate(token) if token else None
        parts = split_token(token)
        if user is None or parts is None:
            with contextlib.suppress(Exception):
                await ws.send_text(json.dumps({"type": "error", "error": "bad_token"}))
                await ws.close(code=4401)
            return None
        await ws.send_text(json.dumps({"type": "hello", "user": user.name, "role": user.role}))
        return user, parts[0]

    async def recheck(self) -> int:
        """Close the sockets whose token no longer works (user removed, expired); how many."""
        open_now = dict(self._token_ids)
        live = await self.users.live_tokens(open_now.values())
        dead = [ws for ws, token_id in open_now.items() if token_id not in live]
        for ws in dead:
            self._sockets.discard(ws)
            self._token_ids.pop(ws, None)
            with contextlib.suppress(Exception):
                await ws.send_text(json.dumps({"type": "error", "error": "token_revoked"}))
                await ws.close(code=4401)
        if dead:
            log.info("console_tokens_revoked", sockets=len(dead))
        return len(dead)

    async def _recheck_loop(self) -> None:
        while True:
            await asyncio.sleep(self.recheck_s)
            try:
                await self.recheck()
            except Exception:  # the database away for a moment: try again next round
                log.exception("console_recheck_failed")

    def _ensure_flusher(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._wake = asyncio.Event()
            self._flusher = asyncio.create_task(self._flush_loop())
        if self._rechecker is None or self._rechecker.done():
            self._rechecker = asyncio.create_task(self._recheck_loop())

    async def _flush_loop(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(self.interval_s)
            topics, self._pending = sorted(self._pending), set()
            if len(topics) > MAX_TOPICS:  # a bulk change (an outage's cases): refresh all
                topics = ["*"]
            if not topics:
                continue
            text = json.dumps({"type": "changed", "topics": topics})
            self.pushes += 1
            for ws in list(self._sockets):
                try:
                    await ws.send_text(text)
                except Exception:  # a socket that died between frames
                    self._sockets.discard(ws)

    async def aclose(self) -> None:
        """Stop the flusher and the token checks."""
        for task in (self._flusher, self._rechecker):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
