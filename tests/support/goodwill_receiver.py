"""A school's scheduling system on loopback: checks each goodwill webhook's signature and
counts what it accepted per idempotency key (it does not drop repeats: tests count them)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from outreach.channels.goodwill_hook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify


@dataclass
class Receiver:
    """The receiver's state: accepted deliveries by key, bad signatures, answers to fail."""

    key: bytes
    fail_next: list[int] = field(default_factory=list)  # statuses to answer before accepting
    accepted: Counter[str] = field(default_factory=Counter)
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)
    bad_signatures: int = 0
    requests: int = 0
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        """Verify, maybe fail as scripted, else accept and count."""
        self.requests += 1
        body = await request.read()
        ok = verify(self.key, request.headers.get(TIMESTAMP_HEADER, ""), body,
                    request.headers.get(SIGNATURE_HEADER, ""), int(time.time()))
        if not ok:
            self.bad_signatures += 1
            return web.json_response({"error": "bad_signature"}, status=401)
        if self.fail_next:
            return web.json_response({"error": "busy"}, status=self.fail_next.pop(0))
        key = request.headers.get("Idempotency-Key", "")
        payload = orjson.loads(body)
        assert payload["idempotency_key"] == key
        self.accepted[key] += 1
        self.bodies[key] = payload
        return web.json_response({"ok": True})


async def start_receiver(key: bytes) -> tuple[Receiver, web.AppRunner]:
    """Serve a receiver on 127.0.0.1 (a free port); stop it with `runner.cleanup()`."""
    receiver = Receiver(key)
    app = web.Application(client_max_size=64 * 1024)
    app.router.add_post("/schedule", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    receiver.url = f"http://127.0.0.1:{port}/schedule"
    return receiver, runner
