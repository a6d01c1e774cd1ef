"""The one-tap fix over the real chat gateway: the offer on the frame, the intent on the reply."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import ClientConnection, connect

from outreach.channels import OutboundMessage
from outreach.channels.chat import ChatChannel
from outreach.channels.chat_gateway import ChatGateway, ChatReply
from outreach.channels.chat_tokens import make_token
from outreach.scripts.remedy_wording import REMEDY_BUTTON
from outreach.store.outbox import Outbox
from tests.support.chat_support import engine  # noqa: F401

SECRET = b"s3cret"
NOW = 1_800_000_000.0


def url(gateway: ChatGateway, student: str) -> str:
    return f"{gateway.url}?token={make_token(student, SECRET, int(NOW + 600))}"


async def recv(ws: ClientConnection) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 2))
    return frame


async def test_the_offer_rides_on_the_frame_and_the_tap_comes_back_as_its_intent(
    engine: AsyncEngine,  # noqa: F811
) -> None:
    replies: list[ChatReply] = []

    async def on_reply(reply: ChatReply) -> None:
        replies.append(reply)

    async with ChatGateway(Outbox(engine), SECRET, on_reply, clock_s=lambda: NOW) as gateway:
        channel = ChatChannel(gateway, ack_timeout_s=0.01)
        offer = OutboundMessage("case-1:chat:1", "case-1", "stu-1", "chat", "lag",
                                language="en", remedy="lighter_picture")
        await channel.send(offer)
        await gateway.push("stu-2", "not an offer", case_id="case-2", message_id="case-2:chat:1")
        await gateway.push("stu-1", "plain", case_id="case-1", message_id="case-1:chat:2")
        async with connect(url(gateway, "stu-1")) as ws, connect(url(gateway, "stu-2")) as other:
            frame = await recv(ws)
            assert frame["remedy"] == "lighter_picture"
            assert REMEDY_BUTTON["en"] in frame["text"]
            assert "remedy" not in await recv(ws)  # the plain message offers nothing
            words = REMEDY_BUTTON["en"]
            for rid, to in (("r1", "case-1:chat:1"), ("r2", "case-1:chat:2")):
                await ws.send(json.dumps({"type": "reply", "id": rid, "text": words,
                                          "in_reply_to": to, "intent": "remedy_applied"}))
                assert await recv(ws) == {"type": "ack", "id": rid}
            await recv(other)
            # Another family naming stu-1's offer moves nothing of stu-1's.
            await other.send(json.dumps({"type": "reply", "id": "r3", "text": words,
                                         "in_reply_to": "case-1:chat:1",
                                         "intent": "remedy_applied"}))
            assert await recv(other) == {"type": "ack", "id": "r3"}
    assert [(r.reply_id, r.intent, r.case_id) for r in replies] == [
        ("r1", "remedy_applied", "case-1"),
        ("r2", "unknown", "case-1"),  # no offer on that message: the words are read
        ("r3", "unknown", "case-2"),
    ]
