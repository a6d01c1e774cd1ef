"""Desk replicas on one PostgreSQL case database: pushes on every queue change, shared presence.

The queue is written by another connection (as `firstcall outreach` does, in its own
process); the console on the desk hears `queue` within 1 s. Two desk apps on the same
database each see the agents whose console is open on the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from websockets.asyncio.client import connect

from monitor.desk.app import create_app
from monitor.desk.desk import Desk
from monitor.desk.ring import TelemetryRing
from outreach.decide.clock import now_ms
from outreach.store.cases import CaseStore
from outreach.store.db import make_engine, upgrade
from outreach.store.queue import QueueStore
from outreach.store.users import UserStore
from tests.outreach.store.test_queue_claims import incident
from tests.support.casedb import PG_DSN, drop_schema, postgres_schema
from tests.support.channel_fakes import serve_asgi

pytestmark = pytest.mark.postgres


@contextlib.asynccontextmanager
async def desk_app(schema: str) -> AsyncIterator[tuple[Starlette, str, UserStore]]:
    """A desk app on the schema, served, its replica link running; yields app, URL, users."""
    engine = make_engine(PG_DSN, schema=schema)
    store = CaseStore(engine, now_ms)
    desk = Desk(store, QueueStore(engine, store, now_ms), TelemetryRing(), now_ms)
    users = UserStore(engine)
    app = create_app(desk, users)
    replicas = app.state.replicas
    assert replicas is not None  # PostgreSQL: the desk follows the database's notices
    replicas.heartbeat_s = 0.3
    link = asyncio.create_task(replicas.run())
    try:
        await asyncio.wait_for(replicas.notices.listening.wait(), 10)
        async with serve_asgi(app) as base:
            yield app, base, users
    finally:
        link.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await link
        await engine.dispose()


async def topics_within(ws: Any, topic: str, seconds: float) -> float:
    """Seconds until a `changed` frame names `topic` (fails after `seconds`)."""
    start = time.monotonic()
    while True:
        left = seconds - (time.monotonic() - start)
        msg = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, left)))
        if topic in msg.get("topics", []) or "*" in msg.get("topics", []):
            return time.monotonic() - start


async def console(base: str, token: str) -> Any:
    ws = await connect(base.replace("http", "ws") + "/ws")
    await ws.send(json.dumps({"type": "auth", "token": token}))
    assert json.loads(await ws.recv())["type"] == "hello"
    return ws


async def quiet(ws: Any, seconds: float = 0.5) -> None:
    with contextlib.suppress(TimeoutError):
        while True:
            await asyncio.wait_for(ws.recv(), seconds)


async def test_a_case_queued_by_another_process_reaches_every_console_within_a_second() -> None:
    schema = await postgres_schema()
    writer = make_engine(PG_DSN, schema=schema)
    try:
        await upgrade(writer)
        async with desk_app(schema) as (_app, base, users):
            tokens = [await users.add(name, "agent") for name in ("ann", "bob")]
            sockets = [await console(base, token) for token in tokens]
            await asyncio.gather(*(quiet(ws) for ws in sockets))
            async with httpx.AsyncClient(base_url=base) as http:
                auth = [{"Authorization": f"Bearer {token}"} for token in tokens]
                empty = await http.get("/api/queue", headers=auth[0])
                assert empty.json()["waiting"] == []
                # the outreach service's side: its own engine (its own process in production)
                store = CaseStore(writer, now_ms)
                queue = QueueStore(writer, store, now_ms)
                case = await store.record_incident(incident("lag-elsewhere"), {})
                assert await queue.enqueue(case, "sms_unanswered")
                for ws in sockets:  # every console hears it
                    assert await topics_within(ws, "queue", 1.0) < 1.0
                for headers in auth:  # and its queue shows it, though it had the empty one
                    view = await http.get("/api/queue", headers={
                        **headers, "If-None-Match": empty.headers["etag"]})
                    assert view.status_code == 200
                    assert [w["case_id"] for w in view.json()["waiting"]] == [case.case_id]
            await asyncio.gather(*(quiet(ws) for ws in sockets))
            await queue.drop(case.case_id)  # closed elsewhere: out of the queue
            for ws in sockets:
                assert await topics_within(ws, f"case:{case.case_id}", 1.0) < 1.0
                await ws.close()
    finally:
        await writer.dispose()
        await drop_schema(schema)


async def test_two_desks_share_who_is_online_and_forget_a_silent_one() -> None:
    schema = await postgres_schema()
    engine = make_engine(PG_DSN, schema=schema)
    try:
        await upgrade(engine)
        async with desk_app(schema) as (_a, base_a, users), desk_app(schema) as (b, base_b, _):
            ann, ops = await users.add("ann", "agent"), await users.add("olga", "ops")
            ws_b = await console(base_b, await users.add("bob", "agent"))
            await quiet(ws_b, 0.2)
            ws = await console(base_a, ann)  # ann's console on desk A
            assert await topics_within(ws_b, "queue", 2.0) < 2.0  # B hears who came
            auth = {"Authorization": f"Bearer {ops}"}
            async with httpx.AsyncClient() as http:
                deadline = time.monotonic() + 2
                while True:
                    view = (await http.get(base_b + "/api/queue", headers=auth)).json()
                    online = {a["name"] for a in view["agents"] if a["online"]}
                    if online == {"ann", "bob"} or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.05)
                assert online == {"ann", "bob"}
                await ws.close()
                deadline = time.monotonic() + 2
                while "ann" in online and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                    view = (await http.get(base_b + "/api/queue", headers=auth)).json()
                    online = {a["name"] for a in view["agents"] if a["online"]}
                assert online == {"bob"}
            presence = b.state.api.presence
            presence.heard(json.dumps({"replica": "gone", "agents": {"cat": 1}}))
            assert presence.is_online("cat")
            presence.remote["gone"] = (now_ms() - presence.ttl_ms - 1, {"cat": 1})
            assert not presence.is_online("cat")  # a killed replica's agents expire
            await ws_b.close()
    finally:
        await engine.dispose()
        await drop_schema(schema)
