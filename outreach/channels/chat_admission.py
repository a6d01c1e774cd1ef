"""Who may open a chat socket: a valid token (the three ways of the gateway's protocol,
`outreach.channels.chat_gateway`) and at most `MAX_SOCKETS_PER_FAMILY` sockets a family."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import Callable
from http import HTTPStatus
from typing import Final

import structlog
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from outreach.channels.chat_tokens import TokenError, verify_token

log = structlog.get_logger(__name__)
MAX_SOCKETS_PER_FAMILY: Final = 5  # more are refused with 429
AUTH_TIMEOUT_S: Final = 5.0  # a socket without a token must send it in its first frame by then
MAX_UNAUTHENTICATED: Final = 256  # sockets still waiting for that frame; more get 503


def token_of(request: Request) -> str:
    """The token from an `Authorization: Bearer` header, else `?token=` (old clients), or ""."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer ") and header[7:].strip():
        return header[7:].strip()
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.path).query)
    return query["token"][0] if query.get("token") else ""


class ChatAdmission:
    """Checks each socket's token and its family's socket count until it joins the gateway."""

    def __init__(
        self,
        secret: bytes,
        clock_s: Callable[[], float],
        auth_timeout_s: float,
        joined: Callable[[str], int],
    ) -> None:
        self.secret = secret
        self.clock_s = clock_s
        self.auth_timeout_s = auth_timeout_s
        self.joined = joined  # a family's sockets the gateway holds
        self._students: dict[ServerConnection, str] = {}  # admitted, not joined yet
        self._unauthenticated: set[ServerConnection] = set()

    def check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """The refusal of an upgrade request, or None: its token is good, or comes first frame."""
        token = token_of(request)
        if not token:  # the token comes in the first frame
            if len(self._unauthenticated) >= MAX_UNAUTHENTICATED:  # forget failed handshakes
                self._unauthenticated = {c for c in self._unauthenticated
                                         if c.state is not State.CLOSED}
            if len(self._unauthenticated) >= MAX_UNAUTHENTICATED:
                log.info("chat_refused", reason="too_many_unauthenticated")
                return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "busy\n")
            self._unauthenticated.add(connection)
            return None
        checked = verify_token(token, self.secret, self.clock_s())
        if isinstance(checked, TokenError):
            log.info("chat_refused", reason=checked.reason)
            return connection.respond(HTTPStatus.UNAUTHORIZED, f"{checked.reason}\n")
        if self._full(checked):
            log.info("chat_refused", reason="too_many_sockets")
            return connection.respond(HTTPStatus.TOO_MANY_REQUESTS, "too_many_sockets\n")
        self._students[connection] = checked
        return None

    async def student_of(self, ws: ServerConnection) -> str | None:
        """The student of an admitted socket (its first frame read when the token comes in
        it); None when it was refused and closed."""
        if ws in self._unauthenticated and await self._first_frame_auth(ws) is None:
            return None
        return self._students[ws]

    def release(self, ws: ServerConnection) -> None:
        """The socket joined its family's sockets (counted there now), or is gone."""
        self._students.pop(ws, None)

    def _full(self, student_id: str) -> bool:
        open_now = self.joined(student_id) + sum(
            1 for s in self._students.values() if s == student_id)
        return open_now >= MAX_SOCKETS_PER_FAMILY

    async def _first_frame_auth(self, ws: ServerConnection) -> str | None:
        """The student of a `{"type": "auth", "token"}` first frame, else close 4401/4429."""
        try:
            raw = await asyncio.wait_for(ws.recv(), self.auth_timeout_s)
            frame = json.loads(raw)
            token = frame.get("token") if frame.get("type") == "auth" else None
            checked: str | TokenError = (verify_token(token, self.secret, self.clock_s())
                                         if isinstance(token, str) else TokenError("no_token"))
        except (TimeoutError, ValueError, AttributeError):
            checked = TokenError("no_token")
        except ConnectionClosed:
            return None
        finally:
            self._unauthenticated.discard(ws)
        reason, code = "", 0
        if isinstance(checked, TokenError):
            reason, code = checked.reason, 4401
        elif self._full(checked):
            reason, code = "too_many_sockets", 4429
        if code:
            log.info("chat_refused", reason=reason)
            try:
                await ws.send(json.dumps({"type": "error", "reason": reason}))
                await ws.close(code, reason)
            except ConnectionClosed:
                pass
            return None
        assert isinstance(checked, str)
        self._students[ws] = checked
        return checked
