"""A tiny TCP load balancer for tests: each connection goes to the first backend that answers.

Backends are tried in order, starting at the next one each time when `round_robin`;
a backend that refuses (killed) is skipped, as a load balancer's health check would.
While `noticing` is set, new connections are closed at once: the moment a real balancer
takes to mark a dead backend down (a test sets it to see a console's disconnected state).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    try:
        while data := await src.read(65536):
            dst.write(data)
            await dst.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            dst.close()


class FailoverProxy:
    """Listens on a free port; forwards every connection to a live backend."""

    def __init__(self, backends: list[tuple[str, int]], round_robin: bool = False) -> None:
        self.backends = backends
        self.round_robin = round_robin
        self.next = 0
        self.chosen: list[int] = []  # the backend index of each connection, in order
        self.port = 0
        self.noticing = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.noticing:
            writer.close()
            return
        order = [(self.next + k) % len(self.backends) for k in range(len(self.backends))]
        if self.round_robin:
            self.next = (self.next + 1) % len(self.backends)
        for i in order:
            host, port = self.backends[i]
            try:
                up_r, up_w = await asyncio.open_connection(host, port)
            except OSError:
                continue
            self.chosen.append(i)
            both = [asyncio.create_task(_pipe(reader, up_w)),
                    asyncio.create_task(_pipe(up_r, writer))]
            self._tasks.update(both)
            await asyncio.gather(*both)
            self._tasks.difference_update(both)
            return
        writer.close()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        """Serve while inside; yields the proxy's base URL."""
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        try:
            yield f"http://127.0.0.1:{self.port}"
        finally:
            server.close()
            for t in list(self._tasks):
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
