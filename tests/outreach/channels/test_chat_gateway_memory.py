"""The chat gateway keeps nothing of a family once its pushes are done and its app has left
(issue 20: an outage pushes a notice to a thousand families at once)."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import connect

from outreach.channels.chat_gateway import ChatGateway
from outreach.channels.chat_tokens import make_token
from outreach.store.outbox import Outbox
from tests.support.chat_support import engine  # noqa: F401

SECRET = b"s3cret"
NOW = 1_800_000_000.0
FAMILIES = 40


def url(gateway: ChatGateway, student: str) -> str:
    return f"{gateway.url}?token={make_token(student, SECRET, int(NOW + 600))}"


async def test_no_lock_or_socket_set_is_kept_of_families_pushed_to_and_gone(
    engine: AsyncEngine,  # noqa: F811
) -> None:
    async with ChatGateway(Outbox(engine), SECRET, clock_s=lambda: NOW) as gateway:
        # An outage's notices, most families' apps closed, pushed at once.
        pushed = await asyncio.gather(*(gateway.push(f"stu-{i}", "Class is down, not you.",
                                                     case_id=f"case-{i}")
                                        for i in range(FAMILIES)))
        assert len(pushed) == FAMILIES
        # A few families open the app, get their notice, ack it and leave.
        for i in range(3):
            async with connect(url(gateway, f"stu-{i}")) as ws:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 2))
                assert frame["id"] == pushed[i].message_id
                await ws.send(json.dumps({"type": "ack", "id": frame["id"]}))
                assert await gateway.wait_acked(frame["id"], 2)
        for _ in range(100):
            if not any(gateway.connected(f"stu-{i}") for i in range(3)):
                break
            await asyncio.sleep(0.01)
        assert gateway._locks == {} and not gateway._lock_users
        assert gateway._connections == {}
        assert gateway._acked == {} and gateway._sent == {}
