"""Test doubles of the channels and sinks: use these instead of mock.patch."""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import uvicorn
from starlette.types import ASGIApp

from outreach.channels.base import OutboundMessage, ProviderStatus, SendResult
from outreach.decide.decision import ChannelName


@dataclass
class FakeChannel:
    """A channel that records every message and answers from a script of results.

    `fail_next(n)` makes the next n sends fail; `script(...)` queues exact results;
    otherwise every send is `delivered` with provider id `fake-<n>`. `statuses` is what a
    look-up (`status`) answers, by provider id (absent: unknown); `looked_up` lists the ids.
    """

    name: ChannelName = "chat"
    sent: list[OutboundMessage] = field(default_factory=list)
    _queued: deque[SendResult] = field(default_factory=deque)
    statuses: dict[str, ProviderStatus] = field(default_factory=dict)
    looked_up: list[str] = field(default_factory=list)

    def script(self, *results: SendResult) -> None:
        """Answer the next sends with these results, in order."""
        self._queued.extend(results)

    def fail_next(
        self, n: int = 1, *, retryable: bool = True, reason: str = "fake_failure"
    ) -> None:
        """Make the next `n` sends fail."""
        self.script(*[SendResult("failed", retryable=retryable, reason=reason)] * n)

    async def send(self, message: OutboundMessage) -> SendResult:
        """Record `message` and return the next scripted result (default: delivered)."""
        self.sent.append(message)
        if self._queued:
            return self._queued.popleft()
        return SendResult("delivered", provider_id=f"fake-{len(self.sent)}")

    async def status(self, provider_id: str) -> ProviderStatus | None:
        """What `statuses` says of `provider_id` (None: unknown)."""
        self.looked_up.append(provider_id)
        return self.statuses.get(provider_id)


@dataclass
class GatedChannel:
    """A channel whose sends all wait at a gate until `open()`; it counts sends in flight.

    `sending`: sends waiting at the gate now; `peak`: the most at once; `sent`: every message
    that came in (in order), `done`: those let through.
    """

    name: ChannelName = "chat"
    sent: list[OutboundMessage] = field(default_factory=list)
    done: list[OutboundMessage] = field(default_factory=list)
    sending: int = 0
    peak: int = 0
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    def open(self) -> None:
        """Let every send through, now and from now on."""
        self.gate.set()

    async def send(self, message: OutboundMessage) -> SendResult:
        """Count the send in flight, wait at the gate, answer `queued` (no reply comes)."""
        self.sent.append(message)
        self.sending += 1
        self.peak = max(self.peak, self.sending)
        try:
            await self.gate.wait()
        finally:
            self.sending -= 1
        self.done.append(message)
        return SendResult("queued", provider_id=message.message_id)

    async def status(self, provider_id: str) -> ProviderStatus | None:
        """Nothing to look up here."""
        return None


class BrokenConnector:
    """A connector of waiting callers whose every attempt raises (an unexpected bug or fault)."""

    def __init__(self) -> None:
        self.tries = 0

    async def connect(
        self, call_sid: str, agent_phone: str, case_id: str, language: str
    ) -> SendResult:
        self.tries += 1
        raise RuntimeError("connector broke")


class FakeSleep:
    """An async sleep that only records how long it was asked to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class FakeClock:
    """A monotonic clock (seconds) moved by hand."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


@asynccontextmanager
async def serve_asgi(app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on `port` (0: a free one); yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.005)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()

