"""Paging infrastructure through the webhook channel, against a local HTTP server."""

from __future__ import annotations

import socket
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from outreach.channels.retry import RetryPolicy
from outreach.channels.webhook import WebhookPager
from tests.support.channel_fakes import FakeSleep, serve_asgi


@dataclass
class Receiver:
    """An Alertmanager-style webhook receiver that answers from a script (then 200)."""

    answers: deque[int] = field(default_factory=deque)
    got: list[tuple[dict[str, Any], str]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.got.append((await request.json(), request.headers.get("Idempotency-Key", "")))
            status = self.answers.popleft() if self.answers else 200
            return JSONResponse({"status": status}, status_code=status)

        return Starlette(routes=[Route("/hooks/infra", hook, methods=["POST"])])


PAGE = {"kind": "line_incident", "incident_id": "line-1", "line": {"edge": "e1"}, "sessions": 7}


async def test_a_page_is_posted_as_json_with_an_idempotency_key() -> None:
    receiver = Receiver()
    async with serve_asgi(receiver.app()) as base:
        result = await WebhookPager(f"{base}/hooks/infra").page("line-1", PAGE)
    assert (result.ok, result.status, result.attempts) == (True, 200, 1)
    assert receiver.got == [(PAGE, "line-1")]


async def test_server_errors_are_retried_with_jittered_backoff() -> None:
    receiver = Receiver(deque([503, 429]))
    sleep = FakeSleep()
    pager = WebhookPager(
        "", policy=RetryPolicy(max_attempts=4, base_s=0.5, cap_s=8), sleep=sleep, rng=lambda: 0.5
    )
    async with serve_asgi(receiver.app()) as base:
        pager.url = f"{base}/hooks/infra"
        result = await pager.page("line-1", PAGE)
    assert (result.ok, result.attempts) == (True, 3)
    assert sleep.waits == [0.25, 0.5]  # half of 0.5 s, then half of 1 s
    assert len(receiver.got) == 3 and {key for _, key in receiver.got} == {"line-1"}


async def test_a_refusal_is_final_and_retries_run_out() -> None:
    receiver = Receiver(deque([400, 500, 500, 500, 500]))
    pager = WebhookPager("", policy=RetryPolicy(max_attempts=3), sleep=FakeSleep())
    async with serve_asgi(receiver.app()) as base:
        pager.url = f"{base}/hooks/infra"
        refused = await pager.page("line-1", PAGE)
        failed = await pager.page("line-2", PAGE)
    assert (refused.ok, refused.status, refused.attempts, refused.reason) == (
        False, 400, 1, "http_400",
    )  # fmt: skip
    assert (failed.ok, failed.status, failed.attempts) == (False, 500, 3)


async def test_nobody_listening_is_retried_then_reported() -> None:
    with socket.socket() as s:  # a port that was free a moment ago: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleep = FakeSleep()
    pager = WebhookPager(f"http://127.0.0.1:{port}/x", policy=RetryPolicy(3), sleep=sleep)
    result = await pager.page("line-1", PAGE)
    assert (result.ok, result.status, result.attempts) == (False, 0, 3)
    assert result.reason == "ClientConnectorError" and len(sleep.waits) == 2
