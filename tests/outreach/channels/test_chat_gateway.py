"""The chat gateway over real websockets: auth, acks, redelivery after a drop, reply routing."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from detectors.records import Incident
from outreach.channels import OutboundMessage
from outreach.channels.chat import ChatChannel
from outreach.channels.chat_gateway import ChatGateway, ChatReply
from outreach.channels.chat_tokens import make_token
from outreach.contact.chat_routing import case_router
from outreach.decide.case_states import Refusal
from outreach.store.cases import CaseStore
from outreach.store.outbox import Outbox
from tests.support.casedb import case_engine  # noqa: F401
from tests.support.chat_support import engine  # noqa: F401
from tests.support.live_support import until

SECRET = b"s3cret"
NOW = 1_800_000_000.0


def url(gateway: ChatGateway, student: str = "stu-1", expires: float = NOW + 600) -> str:
    return f"{gateway.url}?token={make_token(student, SECRET, int(expires))}"


async def recv(ws: ClientConnection) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 2))
    return frame


async def test_bad_and_expired_tokens_are_refused(engine: AsyncEngine) -> None:  # noqa: F811
    async with ChatGateway(Outbox(engine), SECRET, clock_s=lambda: NOW) as gateway:
        for target in (
            url(gateway, expires=NOW - 1),
            gateway.url + "?token=" + make_token("stu-1", b"wrong", int(NOW + 60)),
            gateway.url + "?token=garbage",
        ):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(target):
                    pass
            assert refused.value.response.status_code == 401
        headers = {"Authorization": "Bearer " + make_token("stu-1", SECRET, int(NOW + 60))}
        async with connect(gateway.url, additional_headers=headers) as ws:
            await gateway.push("stu-1", "hello")
            assert (await recv(ws))["text"] == "hello"


@pytest.mark.parametrize("drop", ["close", "abort"])
async def test_no_message_is_lost_across_a_disconnect(engine: AsyncEngine, drop: str) -> None:  # noqa: F811
    outbox = Outbox(engine)
    async with ChatGateway(outbox, SECRET, clock_s=lambda: NOW) as gateway:
        seen: list[str] = []
        ws = await connect(url(gateway))
        m1 = await gateway.push("stu-1", "one", case_id="case-1")
        m2 = await gateway.push("stu-1", "two", case_id="case-1")
        first = await recv(ws)
        seen.append(first["id"])
        await ws.send(json.dumps({"type": "ack", "id": first["id"]}))
        second = await recv(ws)
        seen.append(second["id"])
        if drop == "close":  # leaves before acking "two"
            await ws.close()
        else:  # the network dies: no closing handshake
            ws.transport.abort()
        for _ in range(100):
            if not gateway.connected("stu-1"):
                break
            await asyncio.sleep(0.01)
        m3 = await gateway.push("stu-1", "three", case_id="case-1")  # while away
        async with connect(url(gateway)) as again:
            redelivered = [await recv(again), await recv(again)]
            assert [f["id"] for f in redelivered] == [m2.message_id, m3.message_id]
            assert [f["text"] for f in redelivered] == ["two", "three"]
            for frame in redelivered:
                await again.send(json.dumps({"type": "ack", "id": frame["id"]}))
            m4 = await gateway.push("stu-1", "four", case_id="case-1")
            fourth = await recv(again)
            await again.send(json.dumps({"type": "ack", "id": fourth["id"]}))
            assert await gateway.wait_acked(m4.message_id, 2)
        seen += [f["id"] for f in redelivered] + [fourth["id"]]
        assert set(seen) == {m.message_id for m in (m1, m2, m3, m4)}
        assert await outbox.pending("stu-1") == []
        assert first == {
            "type": "message",
            "id": m1.message_id,
            "case_id": "case-1",
            "text": "one",
            "sent_at": m1.created_at,
        }


async def test_messages_go_only_to_their_student(engine: AsyncEngine) -> None:  # noqa: F811
    gateway = ChatGateway(Outbox(engine), SECRET, clock_s=lambda: NOW)
    async with gateway, connect(url(gateway, "stu-1")) as a, connect(url(gateway, "stu-2")) as b:
        await gateway.push("stu-2", "for b")
        assert (await recv(b))["text"] == "for b"
        await a.send(json.dumps({"type": "ack", "id": "not-mine"}))
        await a.send("not json")
        assert (await recv(a)) == {"type": "error", "reason": "bad_frame"}
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(a.recv(), 0.1)


async def test_replies_are_routed_to_the_case(case_engine: AsyncEngine) -> None:  # noqa: F811
    store = CaseStore(case_engine)
    incident = Incident("lag-7", "lag", "open", 0, 1, None, {}, {}, "sess-7", "stu-7", "room")
    case_a = (await store.open_case(incident, {})).case
    # A sibling's case (one open case per student), followed on the same device.
    incident_b = Incident("lag-8", "lag", "open", 0, 1, None, {}, {}, "sess-8", "stu-8", "room")
    case_b = (await store.open_case(incident_b, {})).case
    replies: list[ChatReply] = []
    router = case_router(store)

    async def on_reply(reply: ChatReply) -> None:
        replies.append(reply)
        await router(reply)

    gateway = ChatGateway(Outbox(case_engine), SECRET, on_reply, clock_s=lambda: NOW)
    async with gateway, connect(url(gateway, "stu-7")) as ws:
        ma = await gateway.push("stu-7", "lag?", case_id=case_a.case_id)
        await recv(ws)
        await gateway.push("stu-7", "lag again?", case_id=case_b.case_id)
        await recv(ws)
        await ws.send(
            json.dumps({"type": "reply", "id": "r1", "text": "好了", "in_reply_to": ma.message_id})
        )
        assert await recv(ws) == {"type": "ack", "id": "r1"}
        await ws.send(json.dumps({"type": "reply", "id": "r1", "text": "好了"}))  # resent
        assert await recv(ws) == {"type": "ack", "id": "r1"}
        await ws.send(json.dumps({"type": "reply", "id": "r2", "text": "请帮忙"}))
        assert await recv(ws) == {"type": "ack", "id": "r2"}
    assert [(r.reply_id, r.intent, r.case_id) for r in replies] == [
        ("r1", "resolved", case_a.case_id),
        ("r2", "needs_help", case_b.case_id),  # a bare reply goes to the latest message's case
    ]
    a, b = await store.get(case_a.case_id), await store.get(case_b.case_id)
    assert a is not None and (a.state, a.outcome) == ("resolved", "resolved_by_chat")
    assert b is not None and b.state == "waiting_agent"
    timeline = await store.timeline(case_a.case_id)
    assert [(e.kind, e.actor) for e in timeline][-2:] == [
        ("chat_reply", "family:stu-7"),
        ("state", "family:stu-7"),
    ]


async def test_chat_channel_delivered_or_queued(engine: AsyncEngine) -> None:  # noqa: F811
    async with ChatGateway(Outbox(engine), SECRET, clock_s=lambda: NOW) as gateway:
        channel = ChatChannel(gateway, ack_timeout_s=2)
        offline = OutboundMessage("case-1:1", "case-1", "stu-1", "chat", "lag")
        queued = await channel.send(offline)
        assert (queued.status, queued.provider_id) == ("queued", "case-1:1")
        async with connect(url(gateway)) as ws:
            frame = await recv(ws)  # the queued one arrives on connect
            assert frame["id"] == "case-1:1" and "卡顿" in frame["text"]
            await ws.send(json.dumps({"type": "ack", "id": frame["id"]}))

            async def app() -> None:
                got = await recv(ws)
                await ws.send(json.dumps({"type": "ack", "id": got["id"]}))

            online = OutboundMessage(
                "case-1:2", "case-1", "stu-1", "chat", "disconnect", language="en"
            )
            result, _ = await asyncio.gather(channel.send(online), app())
            assert result.status == "delivered"
            assert (await channel.send(online)).status == "delivered"  # idempotent by message id


def test_refusal_type_is_shared() -> None:
    assert Refusal("x").reason == "x"


async def test_outbox_is_idempotent_and_purges_acked(case_engine: AsyncEngine) -> None:  # noqa: F811
    t = [1_000]
    outbox = Outbox(case_engine, clock=lambda: t[0])
    first = await outbox.add("stu-1", {"text": "a"}, case_id="case-1", message_id="m1")
    again = await outbox.add("stu-1", {"text": "changed"}, message_id="m1")
    assert again == first and again.payload == {"text": "a"}
    await outbox.add("stu-1", {"text": "b"}, message_id="m2")
    assert not await outbox.ack("m1", "stu-2")  # not theirs
    assert await outbox.ack("m1", "stu-1") and not await outbox.ack("m1", "stu-1")
    assert [m.message_id for m in await outbox.pending("stu-1")] == ["m2"]
    assert await outbox.latest_case("stu-1") == "case-1"
    t[0] = 5_000
    assert await outbox.purge_acked(before_ms=2_000) == 1
    assert await outbox.get("m1") is None and await outbox.get("m2") is not None


async def test_a_push_on_one_replica_reaches_the_family_connected_to_another(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    # Two outreach replicas share the case database; the app holds a socket to one of them.
    here = ChatGateway(Outbox(case_engine), SECRET, clock_s=lambda: NOW, relay_s=0.05)
    there = ChatGateway(Outbox(case_engine), SECRET, clock_s=lambda: NOW, relay_s=0.05)
    async with here, there, connect(url(there, "stu-1")) as app:
        assert there.connected("stu-1") and not here.connected("stu-1")
        pushed = await here.push("stu-1", "lag?", case_id="case-1")
        frame = await asyncio.wait_for(recv(app), 2)
        assert (frame["id"], frame["text"]) == (pushed.message_id, "lag?")
        waiting = asyncio.create_task(here.wait_acked(pushed.message_id, 2))
        await app.send(json.dumps({"type": "ack", "id": pushed.message_id}))
        assert await waiting  # the ack came to the other replica's gateway
        assert await there.relay_once() == 0  # acked: never sent again
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(app.recv(), 0.2)
        second = await here.push("stu-1", "still?", case_id="case-1")
        assert (await asyncio.wait_for(recv(app), 2))["id"] == second.message_id
        assert not await here.wait_acked(second.message_id, 0.1)  # no ack: not delivered


async def test_many_messages_are_pushed_at_once_and_their_acks_waited_for_together(
    engine: AsyncEngine,  # noqa: F811
) -> None:
    outbox = Outbox(engine)
    async with ChatGateway(outbox, SECRET, clock_s=lambda: NOW) as gateway:
        channel = ChatChannel(gateway, ack_timeout_s=0.5)
        async with connect(url(gateway, "stu-1")) as one, connect(url(gateway, "stu-1")) as two, \
                connect(url(gateway, "stu-2")) as silent:  # fmt: skip
            await until(lambda: gateway.connected("stu-1") and gateway.connected("stu-2"))
            messages = [OutboundMessage(f"case-{s}:chat:1", f"case-{s}", s, "chat", "line",
                                        language="en") for s in ("stu-1", "stu-2", "stu-3")]

            async def app() -> None:  # one of stu-1's sockets shows it; stu-2's never acks
                got = await recv(one)
                await one.send(json.dumps({"type": "ack", "id": got["id"]}))

            results, _ = await asyncio.gather(channel.send_many(messages), app())
            assert [r.status for r in results] == ["delivered", "queued", "queued"]
            assert (await recv(two))["id"] == "case-stu-1:chat:1"  # every socket of the family
            assert (await recv(silent))["id"] == "case-stu-2:chat:1"
        stored = {m.message_id: m for m in await outbox.pending_any()}
        assert set(stored) == {"case-stu-2:chat:1", "case-stu-3:chat:1"}
        assert [stored[m].deliveries for m in sorted(stored)] == [1, 0]  # stu-3: offline
        again = await channel.send_many(messages[:1])  # idempotent by message id: acked
        assert [r.status for r in again] == ["delivered"]
        first = await outbox.get("case-stu-1:chat:1")
        assert first is not None and first.deliveries == 2  # both of stu-1's sockets
