"""Chat tokens: in a header or a first frame (the URL query only for old clients), never logged."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from outreach.channels.chat_admission import MAX_SOCKETS_PER_FAMILY
from outreach.channels.chat_gateway import WS_LOGGER, ChatGateway
from outreach.channels.chat_tokens import make_token
from outreach.channels.token_redaction import REDACTED
from outreach.store.outbox import Outbox
from tests.support.chat_support import engine  # noqa: F401

SECRET = b"k"
NOW = 1_800_000_000.0


def token(student: str = "stu-1") -> str:
    return make_token(student, SECRET, int(NOW + 600))


async def frame(ws: ClientConnection) -> dict[str, str]:
    got: dict[str, str] = json.loads(await asyncio.wait_for(ws.recv(), 5))
    return got


async def close_code(ws: ClientConnection) -> int | None:
    with contextlib.suppress(TimeoutError):
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        except ConnectionClosed as closed:
            return None if closed.rcvd is None else closed.rcvd.code
    return None


async def test_a_first_frame_token_opens_the_chat(engine: AsyncEngine) -> None:  # noqa: F811
    async with ChatGateway(Outbox(engine), SECRET, clock_s=lambda: NOW) as gateway, \
            connect(gateway.url) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token()}))
        for _ in range(50):
            if gateway.connected("stu-1"):
                break
            await asyncio.sleep(0.02)
        await gateway.push("stu-1", "hello", case_id="case-1", message_id="m1")
        assert (await frame(ws))["id"] == "m1"


@pytest.mark.parametrize("first", [
    json.dumps({"type": "auth", "token": make_token("stu-1", b"wrong", int(NOW + 60))}),
    json.dumps({"type": "auth", "token": make_token("stu-1", SECRET, int(NOW - 1))}),
    json.dumps({"type": "auth"}),
    json.dumps({"type": "ack", "id": "m1"}),
    json.dumps(["auth"]),
    "not json",
])
async def test_a_bad_first_frame_is_closed_with_4401(engine: AsyncEngine, first: str) -> None:  # noqa: F811
    async with ChatGateway(Outbox(engine), SECRET, clock_s=lambda: NOW) as gateway, \
            connect(gateway.url) as ws:
        await ws.send(first)
        assert (await frame(ws))["type"] == "error"
        assert await close_code(ws) == 4401
        assert not gateway.connected("stu-1")


async def test_silence_instead_of_a_token_is_closed(engine: AsyncEngine) -> None:  # noqa: F811
    async with ChatGateway(Outbox(engine), SECRET, clock_s=lambda: NOW,
                           auth_timeout_s=0.1) as gateway, connect(gateway.url) as ws:
        assert (await frame(ws)) == {"type": "error", "reason": "no_token"}
        assert await close_code(ws) == 4401


async def test_the_header_wins_over_the_query_and_first_frames_count_toward_the_cap(
        engine: AsyncEngine) -> None:  # noqa: F811
    headers = {"Authorization": f"Bearer {token()}"}
    async with ChatGateway(Outbox(engine), SECRET, clock_s=lambda: NOW) as gateway, \
            contextlib.AsyncExitStack() as stack:
        garbage = gateway.url + "?token=garbage"
        await stack.enter_async_context(connect(garbage, additional_headers=headers))
        for _ in range(MAX_SOCKETS_PER_FAMILY - 1):
            await stack.enter_async_context(connect(gateway.url, additional_headers=headers))
        async with connect(gateway.url) as sixth:
            await sixth.send(json.dumps({"type": "auth", "token": token()}))
            assert (await frame(sixth)) == {"type": "error", "reason": "too_many_sockets"}
            assert await close_code(sixth) == 4429
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"{gateway.url}?token={token()}"):
                pass
        assert refused.value.response.status_code == 429


@contextlib.contextmanager
def debug_records() -> Iterator[list[str]]:
    """Every message the gateway's websockets logger emits at debug level, formatted."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    logger, handler = logging.getLogger(WS_LOGGER), Keep(logging.DEBUG)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def test_no_token_reaches_the_logs_however_it_is_sent(engine: AsyncEngine) -> None:  # noqa: F811
    secrets = [token("stu-q"), token("stu-h"), token("stu-f")]
    with debug_records() as lines:
        async with ChatGateway(Outbox(engine), SECRET, clock_s=lambda: NOW) as gateway:
            async with connect(f"{gateway.url}?token={secrets[0]}"):
                pass
            async with connect(gateway.url,
                               additional_headers={"Authorization": f"Bearer {secrets[1]}"}):
                pass
            async with connect(gateway.url) as ws:
                await ws.send(json.dumps({"type": "auth", "token": secrets[2]}))
                await gateway.push("stu-f", "hi", message_id="m1")
                await frame(ws)
    text = "\n".join(lines)
    assert "GET /?token=" + REDACTED in text and "Bearer " + REDACTED in text
    assert '"token": "' + REDACTED in text  # the first frame, logged at debug
    for secret in secrets:
        assert secret.rsplit(".", 1)[1] not in text
