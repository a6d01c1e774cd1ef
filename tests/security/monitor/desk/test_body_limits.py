"""Body caps on the desk: every route refuses a body past the cap with 413, read or not.

Before the caps an authenticated 300 MB body was read whole (657 MB resident).
"""

from __future__ import annotations

import pytest

from monitor.desk.api import ENDPOINTS
from outreach.channels.body_limit import DESK_MAX_BODY, TWILIO_MAX_BODY
from tests.support.asgi_probe import CHUNK, BigBody, post_big
from tests.support.desk_api import DeskClient

BIG = 300 * 1024 * 1024


@pytest.mark.parametrize("ep", [e for e in ENDPOINTS if e.method == "POST"],
                         ids=lambda e: e.path)
async def test_an_authenticated_300mb_body_is_cut_off_near_the_cap(
        api: DeskClient, ep: object) -> None:
    path = ep.path.replace("{case_id}", "case-x")  # type: ignore[attr-defined]
    big = await post_big(api.app, path, BigBody(BIG), api.auth("ann"))
    assert big.pulled <= DESK_MAX_BODY + CHUNK
    if big.status != 413:  # a route that never reads its body must not read it now either
        assert big.pulled == 0
    declared = await post_big(api.app, path, BigBody(BIG, declare_length=True), api.auth("ann"))
    assert (declared.status, declared.pulled) == (413, 0)
    assert declared.headers["x-content-type-options"] == "nosniff"


async def test_the_json_routes_read_and_refuse(api: DeskClient) -> None:
    big = await post_big(api.app, "/api/cases/case-x/resolve", BigBody(BIG), api.auth("ann"))
    assert big.status == 413 and big.pulled <= DESK_MAX_BODY + CHUNK


async def test_twilio_routes_mounted_on_the_desk_get_the_twilio_cap(api: DeskClient) -> None:
    big = await post_big(api.app, "/twilio/status", BigBody(BIG))
    assert big.pulled <= TWILIO_MAX_BODY + CHUNK
