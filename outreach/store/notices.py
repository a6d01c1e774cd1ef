"""Notices between processes on one case database: PostgreSQL LISTEN/NOTIFY, per schema.

Two channels, both named after the schema so that databases shared by several schemas
(tests, tenants) do not hear each other:

- `queue` (`fcq_<schema>`): sent by the triggers of migration 0007 whenever a queue
  entry is written or a case's owner or state moves, from any process; the payload is
  the case id, delivered at commit.
- `presence` (`fcp_<schema>`): sent by each desk replica with the agents whose consoles
  it holds (JSON, at most `MAX_PAYLOAD` bytes).

On SQLite there are no other processes to hear: `supported` is False and the desk is
told in process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.store.unit import read, tx

log = structlog.get_logger(__name__)
Channel = Literal["queue", "presence"]
PREFIX: Final[dict[Channel, str]] = {"queue": "fcq_", "presence": "fcp_"}
MAX_PAYLOAD: Final = 7000  # PostgreSQL refuses payloads from 8000 bytes
Heard = Callable[[str], None]


def supported(engine: AsyncEngine) -> bool:
    """Whether the database carries notices between processes (PostgreSQL)."""
    return engine.dialect.name == "postgresql"


class Notices:
    """Listen to and send notices on the case database's channels."""

    def __init__(self, engine: AsyncEngine, retry_s: float = 1.0) -> None:
        self.engine = engine
        self.retry_s = retry_s
        self.listening = asyncio.Event()  # set while the listener is connected
        self._schema: str | None = None

    async def schema(self) -> str:
        """The schema the engine works in (the channels' suffix)."""
        if self._schema is None:
            async with read(self.engine) as conn:
                self._schema = str((await conn.execute(sa.text("SELECT current_schema()")))
                                   .scalar_one())
        return self._schema

    async def channel(self, kind: Channel) -> str:
        """The PostgreSQL channel name of `kind` in this schema."""
        return PREFIX[kind] + await self.schema()

    async def send(self, kind: Channel, payload: str) -> None:
        """Send one notice (refused above `MAX_PAYLOAD` bytes)."""
        if len(payload.encode()) > MAX_PAYLOAD:
            raise ValueError(f"notice payload over {MAX_PAYLOAD} bytes")
        channel = await self.channel(kind)
        async with tx(self.engine, single=True) as conn:
            await conn.execute(sa.text("SELECT pg_notify(:c, :p)"), {"c": channel, "p": payload})

    async def listen(self, handlers: Mapping[Channel, Heard],
                     on_connect: Callable[[], None] = lambda: None) -> None:
        """Call the handler of each channel with every payload heard, until cancelled.

        The connection is held for the listener; when it breaks, it is opened again
        after `retry_s` and `on_connect` runs (notices sent meanwhile are lost: the
        caller refreshes everything then).
        """
        while True:
            try:
                await self._listen_once(handlers, on_connect)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database away: listen again shortly
                log.warning("notices_listen_failed", error=str(exc), retry_in_s=self.retry_s)
            self.listening.clear()
            await asyncio.sleep(self.retry_s)

    async def _listen_once(self, handlers: Mapping[Channel, Heard],
                           on_connect: Callable[[], None]) -> None:
        async with self.engine.connect() as conn:  # its own, always: it stays to LISTEN
            raw = await conn.get_raw_connection()
            pg: Any = raw.driver_connection  # the asyncpg connection itself
            closed = asyncio.Event()
            pg.add_termination_listener(lambda _c: closed.set())
            names = {await self.channel(k): h for k, h in handlers.items()}

            def heard(_c: object, _pid: int, channel: str, payload: str) -> None:
                handler = names.get(channel)
                if handler is None:
                    return
                try:
                    handler(payload)
                except Exception:  # one bad notice must not stop the listener
                    log.exception("notice_handler_failed", channel=channel)

            for name in names:
                await pg.add_listener(name, heard)
            self.listening.set()
            on_connect()
            try:
                while not pg.is_closed():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(closed.wait(), 5.0)
                    if not closed.is_set():
                        await pg.execute("SELECT 1")  # a dead peer shows up here
            finally:
                if not pg.is_closed():
                    for name in names:
                        with contextlib.suppress(Exception):
                            await pg.remove_listener(name, heard)
