"""Body caps: a 100 MB POST to a Twilio callback is refused with 413 after about the cap.

Before the caps, the signature check read the whole body into memory first.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from outreach.channels.body_limit import TWILIO_MAX_BODY
from outreach.channels.chat_gateway import MAX_FRAME_BYTES, ChatGateway
from outreach.channels.chat_tokens import make_token
from outreach.channels.twilio_callbacks import create_app
from outreach.decide.signals import CallbackEvent, MenuChoice
from outreach.store.db import make_engine, upgrade
from outreach.store.outbox import Outbox
from tests.support.asgi_probe import CHUNK, BigBody, post_big

HUNDRED_MB = 100 * 1024 * 1024
PATHS = ["/twilio/status", "/twilio/gather", "/twilio/sms"]


async def no_events(event: CallbackEvent | MenuChoice) -> None:
    raise AssertionError("nothing may be handled")


async def no_sms(sms: object) -> str:
    raise AssertionError("nothing may be handled")


@pytest.mark.parametrize("path", PATHS)
async def test_a_streamed_100mb_callback_is_cut_off_near_the_cap(path: str) -> None:
    big = await post_big(create_app("token", no_events, on_sms=no_sms), path, BigBody(HUNDRED_MB))
    assert big.status == 413
    assert big.pulled <= TWILIO_MAX_BODY + CHUNK
    assert json.loads(big.body)["error"] == "body_too_large"


@pytest.mark.parametrize("path", PATHS)
async def test_a_declared_100mb_callback_is_refused_before_reading(path: str) -> None:
    big = BigBody(HUNDRED_MB, declare_length=True)
    await post_big(create_app("token", no_events, on_sms=no_sms), path, big)
    assert (big.status, big.pulled) == (413, 0)


async def test_a_small_forged_callback_is_still_a_403() -> None:
    big = await post_big(create_app("token", no_events), "/twilio/status", BigBody(300))
    assert big.status == 403


async def test_a_chat_frame_over_the_cap_closes_the_socket(tmp_path: Path) -> None:
    engine = make_engine(str(tmp_path / "chat.db"))
    await upgrade(engine)
    now = 1_800_000_000.0
    try:
        async with ChatGateway(Outbox(engine), b"k", clock_s=lambda: now) as gateway:
            token = make_token("stu-1", b"k", int(now + 60))
            async with connect(f"{gateway.url}?token={token}", max_size=None) as ws:
                await ws.send(json.dumps({"type": "reply", "id": "r1",
                                          "text": "x" * (MAX_FRAME_BYTES + 1)}))
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 2)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    finally:
        await engine.dispose()
