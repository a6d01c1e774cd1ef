"""Desk replicas as real processes: a fresh PostgreSQL database, `firstcall serve` on it.

Shared by the websocket proof (tests/monitor/desk/test_two_desk_replicas.py) and the
Chromium walk-through (test_two_desk_replicas_browser.py); the load balancer in front is
tests/support/failover_proxy.py. `fresh_database` also serves the two `firstcall outreach`
processes of tests/monitor/streaming/test_outreach_replicas_kafka.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx

from tests.support.casedb import PG_DSN
from tests.support.services import service_missing


@contextlib.asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """A new PostgreSQL database (the processes take a DSN, not a schema); dropped after."""
    name = f"fc_replicas_{uuid.uuid4().hex[:10]}"
    try:
        admin = await asyncpg.connect(PG_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        service_missing("PostgreSQL", f"{PG_DSN}: {exc}")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield PG_DSN.rsplit("/", 1)[0] + "/" + name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@contextlib.contextmanager
def replica(dsn: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """`firstcall serve` on `port`, until killed or the block ends."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIRSTCALL_")}
    proc = subprocess.Popen([sys.executable, "-m", "monitor.cli", "serve", "--db", dsn,
                             "--port", str(port), "--log-level", "WARNING"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=15)


async def healthy(base: str, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    """Wait until the replica at `base` answers /healthz (fails if it died or took too long)."""
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient() as http:
        while True:
            try:
                if (await http.get(base + "/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else b""
            assert time.monotonic() < deadline, "the replica did not come up"
            await asyncio.sleep(0.1)
