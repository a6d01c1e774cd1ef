"""Chat gateway: tokens valid for ages, absurd expiries, and a flood of sockets per family."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from outreach.channels.chat_admission import MAX_SOCKETS_PER_FAMILY
from outreach.channels.chat_gateway import ChatGateway
from outreach.channels.chat_tokens import TokenError, make_token, verify_token
from outreach.store.outbox import Outbox
from tests.support.chat_support import engine  # noqa: F401

SECRET = b"k"
NOW = 1_800_000_000.0


def test_a_token_valid_for_more_than_a_day_is_refused() -> None:
    assert verify_token(make_token("stu-1", SECRET, int(NOW + 3600)), SECRET, NOW) == "stu-1"
    far = make_token("stu-1", SECRET, 253_402_300_799)  # year 9999
    assert verify_token(far, SECRET, NOW) == TokenError("too_long_lived")


def test_an_absurd_expiry_is_malformed_not_a_crash() -> None:
    huge = "stu-1." + "9" * 5000 + ".sig"
    assert verify_token(huge, SECRET, NOW) == TokenError("malformed")
    assert verify_token("stu-1.\u0661\u0662.sig", SECRET, NOW) == TokenError("malformed")


async def test_at_most_five_sockets_per_family(engine: AsyncEngine) -> None:  # noqa: F811
    token = make_token("stu-1", SECRET, int(NOW + 60))
    async with ChatGateway(Outbox(engine), SECRET, clock_s=lambda: NOW) as gateway, \
            contextlib.AsyncExitStack() as stack:
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(MAX_SOCKETS_PER_FAMILY):
            await stack.enter_async_context(connect(gateway.url, additional_headers=headers))
        with pytest.raises(InvalidStatus) as refused:
            async with connect(gateway.url, additional_headers=headers):
                pass
        assert refused.value.response.status_code == 429
        other = make_token("stu-2", SECRET, int(NOW + 60))
        async with connect(gateway.url, additional_headers={"Authorization": f"Bearer {other}"}):
            pass  # another family is not affected
