"""The chat gateway: a websockets server the family's class app connects to.

Protocol (JSON text frames):

- the token (`student_id.expiry.signature`, valid for at most a day) comes in one of
  three ways, best first: an `Authorization: Bearer <token>` header on the upgrade
  request; or, from a client that cannot set headers (a browser), a first frame
  `{"type": "auth", "token": ...}` within 5 s of connecting; or, for old clients only,
  `ws://host:port/?token=<token>`. A bad or expired token in the header or URL is refused
  with HTTP 401; in the first frame with `{"type": "error", "reason"}` and close code
  4401. A family has at most 5 sockets (the sixth: HTTP 429, or close code 4429 after a
  first-frame token). Tokens never reach the logs, the websockets library's included.
- server -> app: `{"type": "message", "id", "case_id", "text", "sent_at"}`. Delivery is
  at least once: every un-acked message is sent again on reconnect, in order, so the app
  must ignore an `id` it has already shown.
- app -> server: `{"type": "ack", "id"}` once shown; `{"type": "reply", "id", "text",
  "in_reply_to"?}` for a family's answer, acknowledged with `{"type": "ack", "id"}` once
  it has been handled (the app resends un-acked replies; duplicates are dropped).
- a message may offer a one-tap fix: `"remedy": "lighter_picture"` on the message frame.
  After the app applied it, its reply carries `"intent": "remedy_applied"` and
  `in_reply_to` that message; the intent counts only for a message of the same family
  that offered it (otherwise the reply's words are read as any other reply).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import structlog
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from outreach.channels.chat_admission import AUTH_TIMEOUT_S, ChatAdmission
from outreach.channels.token_redaction import redacting_logger
from outreach.decide.chat_intents import Intent, intent_of
from outreach.decide.remedy import REMEDY_APPLIED
from outreach.store.outbox import NewMessage, Outbox, OutboxMessage

log = structlog.get_logger(__name__)
MAX_FRAME_BYTES: Final = 64 * 1024  # a bigger frame closes the socket (1009)
WS_LOGGER: Final = "outreach.channels.chat_gateway.websockets"  # tokens redacted


@dataclass(frozen=True, slots=True)
class ChatReply:
    """A family's answer in the chat, with its meaning and the case it belongs to."""

    reply_id: str
    student_id: str
    text: str
    intent: Intent
    case_id: str | None
    in_reply_to: str | None


ReplyHandler = Callable[[ChatReply], Awaitable[None]]


class ChatGateway:
    """Pushes proactive messages to connected apps, keeps un-acked ones, routes replies."""

    def __init__(
        self,
        outbox: Outbox,
        secret: bytes,
        on_reply: ReplyHandler | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock_s: Callable[[], float] = time.time,
        auth_timeout_s: float = AUTH_TIMEOUT_S,
        relay_s: float = 0.0,
    ) -> None:
        self.outbox = outbox
        self.on_reply = on_reply
        self.host = host
        self.port = port
        self._server: Server | None = None
        self.admission = ChatAdmission(secret, clock_s, auth_timeout_s, self._sockets)
        self._connections: dict[str, set[ServerConnection]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._lock_users: Counter[str] = Counter()  # holding or waiting, by student
        self._acked: dict[str, asyncio.Event] = {}
        self._seen_replies: OrderedDict[str, None] = OrderedDict()
        # With several outreach replicas, a push may land on one whose gateway does not
        # hold the family's socket: every `relay_s` the outbox is read for messages of the
        # families connected here that this gateway has not sent on their socket yet.
        self.relay_s = relay_s
        self._sent: dict[ServerConnection, set[str]] = {}
        self._relay: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """`ws://host:port/` once started."""
        assert self._server is not None, "start() first"
        sockname = next(iter(self._server.sockets)).getsockname()
        return f"ws://{sockname[0]}:{sockname[1]}/"

    async def start(self) -> ChatGateway:
        """Listen for apps."""
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            process_request=self.admission.check_request,
            max_size=MAX_FRAME_BYTES,
            logger=redacting_logger(WS_LOGGER),
        )
        if self.relay_s > 0:
            self._relay = asyncio.create_task(self._relay_forever())
        return self

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        if self._relay is not None:
            self._relay.cancel()
            await asyncio.gather(self._relay, return_exceptions=True)
            self._relay = None
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> ChatGateway:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def connected(self, student_id: str) -> bool:
        """Is the student's app connected now?"""
        return bool(self._connections.get(student_id))

    def _sockets(self, student_id: str) -> int:
        return len(self._connections.get(student_id, ()))

    async def push(
        self,
        student_id: str,
        text: str,
        *,
        case_id: str | None = None,
        message_id: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> OutboxMessage:
        """Store the message in the outbox, then send it if the app is connected."""
        async with self._lock(student_id):
            message = await self.outbox.add(
                student_id,
                {"text": text, **(extra or {})},
                case_id=case_id,
                message_id=message_id,
            )
            if message.acked_at is None:
                for ws in list(self._connections.get(student_id, ())):
                    await self._send(ws, message)
        log.info("chat_pushed", case_id=case_id, message_id=message.message_id)
        return message

    async def push_many(self, messages: Sequence[NewMessage]) -> list[OutboxMessage]:
        """`push` for many messages: stored in one insert, sent to the connected apps, their
        deliveries counted in one update; returns them as stored, in the order given."""
        stored = await self.outbox.add_many(messages)
        deliveries: dict[str, int] = {}
        for message in stored:
            if message.acked_at is not None or not self.connected(message.student_id):
                continue
            async with self._lock(message.student_id):
                for ws in list(self._connections.get(message.student_id, ())):
                    if message.message_id in self._sent.get(ws, ()):
                        continue  # a socket that joined since the insert got it as pending
                    if await self._frame(ws, message):
                        deliveries[message.message_id] = deliveries.get(message.message_id, 0) + 1
        await self.outbox.mark_sent_many(deliveries)
        log.info("chat_pushed_many", messages=len(stored), sent=len(deliveries))
        return stored

    async def wait_acked_many(self, message_ids: Sequence[str], timeout_s: float) -> set[str]:
        """Wait until the apps ack these messages, all within one `timeout_s` (not one each);
        returns those acked by then."""
        events = {m: self._acked.setdefault(m, asyncio.Event()) for m in message_ids}
        deadline = time.monotonic() + timeout_s
        try:
            acked = await self.outbox.acked(list(events))  # acked before the events were there
            while True:
                acked |= {m for m, event in events.items() if event.is_set()}
                left = deadline - time.monotonic()
                if len(acked) == len(events) or left <= 0:
                    return acked
                waiters = [asyncio.ensure_future(e.wait()) for m, e in events.items()
                           if m not in acked]  # fmt: skip
                try:  # the ack may come to another replica's gateway: look in the outbox
                    await asyncio.wait(waiters, timeout=left if self.relay_s <= 0
                                       else min(left, self.relay_s))
                finally:
                    for waiter in waiters:
                        waiter.cancel()
                if self.relay_s > 0:
                    acked |= await self.outbox.acked([m for m in events if m not in acked])
        finally:
            for message_id in events:
                self._acked.pop(message_id, None)

    async def wait_acked(self, message_id: str, timeout_s: float) -> bool:
        """Wait until the app acks `message_id` (True), or `timeout_s` passes (False)."""
        event = self._acked.setdefault(message_id, asyncio.Event())
        try:
            deadline = time.monotonic() + timeout_s
            while True:  # the ack may come to another replica's gateway: look in the outbox
                stored = await self.outbox.get(message_id)
                if stored is not None and stored.acked_at is not None:
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                wait = left if self.relay_s <= 0 else min(left, self.relay_s)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), wait)
                if event.is_set():
                    return True
        except TimeoutError:
            return False
        finally:
            self._acked.pop(message_id, None)
        return True

    @contextlib.asynccontextmanager
    async def _lock(self, student_id: str) -> AsyncIterator[None]:
        """Hold the student's lock; forgotten once nobody holds or waits for it (a lock per
        family ever pushed to would stay for good)."""
        lock = self._locks.setdefault(student_id, asyncio.Lock())
        self._lock_users[student_id] += 1
        try:
            async with lock:
                yield
        finally:
            self._lock_users[student_id] -= 1
            if not self._lock_users[student_id]:
                del self._lock_users[student_id]
                if self._locks.get(student_id) is lock:
                    del self._locks[student_id]

    async def _handle(self, ws: ServerConnection) -> None:
        student_id = await self.admission.student_of(ws)
        if student_id is None:
            return
        try:  # counted by the admission until it joins the connections
            async with self._lock(student_id):
                self._connections.setdefault(student_id, set()).add(ws)
                self.admission.release(ws)
                try:
                    for message in await self.outbox.pending(student_id):
                        await self._send(ws, message)
                except ConnectionClosed:
                    pass
        finally:
            self.admission.release(ws)
        log.info("chat_connected", student_id=student_id)
        try:
            async for raw in ws:
                await self._on_frame(ws, student_id, raw)
        except ConnectionClosed:
            pass
        finally:
            sockets = self._connections.get(student_id, set())
            sockets.discard(ws)
            if not sockets:  # the family's last socket: nothing kept of it
                self._connections.pop(student_id, None)
            self._sent.pop(ws, None)
            log.info("chat_disconnected", student_id=student_id)

    async def relay_once(self) -> int:
        """Send connected families the outbox messages not yet sent on their sockets."""
        students = [s for s, sockets in self._connections.items() if sockets]
        if not students:
            return 0
        sent, pending = 0, await self.outbox.pending_for(students)
        for message in pending:
            async with self._lock(message.student_id):
                for ws in list(self._connections.get(message.student_id, ())):
                    if message.message_id not in self._sent.get(ws, set()):
                        await self._send(ws, message)
                        sent += 1
        waiting = {m.message_id for m in pending}
        for ids in self._sent.values():  # acked ones need no memory (bounded)
            ids &= waiting
        return sent

    async def _relay_forever(self) -> None:
        while True:
            await asyncio.sleep(self.relay_s)
            try:
                await self.relay_once()
            except Exception:  # a failed look is tried again next time
                log.exception("chat_relay_failed")

    async def _send(self, ws: ServerConnection, message: OutboxMessage) -> None:
        if await self._frame(ws, message):
            await self.outbox.mark_sent(message.message_id)

    async def _frame(self, ws: ServerConnection, message: OutboxMessage) -> bool:
        """Send the message's frame on the socket; False if it closed meanwhile."""
        self._sent.setdefault(ws, set()).add(message.message_id)
        try:
            await ws.send(json.dumps(message.frame(), ensure_ascii=False))
        except ConnectionClosed:
            return False  # stays in the outbox: sent again on reconnect
        return True

    async def _on_frame(self, ws: ServerConnection, student_id: str, raw: str | bytes) -> None:
        try:
            frame = json.loads(raw)
            kind, frame_id = frame["type"], str(frame["id"])
        except (ValueError, KeyError, TypeError):
            await ws.send(json.dumps({"type": "error", "reason": "bad_frame"}))
            return
        if kind == "ack":
            if await self.outbox.ack(frame_id, student_id) and frame_id in self._acked:
                self._acked[frame_id].set()
        elif kind == "reply":
            await self._on_reply(student_id, frame_id, frame)
            await ws.send(json.dumps({"type": "ack", "id": frame_id}))
        else:
            await ws.send(json.dumps({"type": "error", "reason": "unknown_type", "id": frame_id}))

    async def _on_reply(self, student_id: str, reply_id: str, frame: dict[str, Any]) -> None:
        key = f"{student_id}/{reply_id}"
        if key in self._seen_replies:
            return
        self._seen_replies[key] = None
        if len(self._seen_replies) > 10_000:
            self._seen_replies.popitem(last=False)
        in_reply_to = frame.get("in_reply_to")
        case_id: str | None = None
        offered = False
        if in_reply_to:
            original = await self.outbox.get(str(in_reply_to))
            if original is not None and original.student_id == student_id:
                case_id = original.case_id
                offered = bool(original.payload.get("remedy"))
        if case_id is None:
            case_id = await self.outbox.latest_case(student_id)
        text = str(frame.get("text", ""))
        intent: Intent = intent_of(text)
        if offered and frame.get("intent") == REMEDY_APPLIED:
            intent = "remedy_applied"
        reply = ChatReply(reply_id, student_id, text, intent, case_id, in_reply_to)
        log.info("chat_reply", case_id=case_id, intent=reply.intent)
        if self.on_reply is not None:
            await self.on_reply(reply)
