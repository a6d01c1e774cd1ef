"""A collector on a fake producer, and events and tokens for its tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import httpx

from monitor.collect.app import CollectConfig, Collector, create_app
from monitor.collect.sink import Sink
from monitor.collect.tokens import SessionGrant, mint
from monitor.streaming.backoff import Backoff
from tests.support.collect_fakes import FakeProducer

SECRET = b"collect-test-secret"
NOW_S = 1_800_000_000.0
ORIGIN = "https://class.example"
CONFIG = CollectConfig(secret=SECRET, allowed_origins=(ORIGIN,), max_events=50,
                       rate_per_s=10, burst=50, ack_timeout_s=0.2, max_body_bytes=16_384)


def token(session: str = "s1", student: str = "u1", classroom: str = "c1",
          ttl_s: int = 3600) -> str:
    """A valid token for one session."""
    return mint(SessionGrant(session, student, classroom, int(NOW_S) + ttl_s), SECRET)


def event(kind: str = "stats", session: str = "s1", student: str = "u1",
          classroom: str = "c1", ts: int = 1_800_000_000_000, **extra: Any) -> dict[str, Any]:
    """One telemetry v1 event (stats fields filled in for `stats`)."""
    body: dict[str, Any] = {"v": 1, "type": kind, "ts": ts, "session_id": session,
                            "student_id": student, "classroom_id": classroom}
    if kind == "stats":
        body.update(interval_ms=2000, rtt_ms=40, jitter_ms=3, loss_pct=0, recv_kbps=900,
                    fps=24, freeze_ms=0, audio_stall_ms=0)
    body.update(extra)
    return body


@dataclass
class Rig:
    """A collector app on a fake producer, and an HTTP client for it."""

    producer: FakeProducer
    sink: Sink
    collector: Collector
    http: httpx.AsyncClient

    async def post(self, events: list[dict[str, Any]] | bytes, tok: str | None = None,
                   **kw: Any) -> httpx.Response:
        """POST /v1/events with a bearer token (a JSON array of `events`)."""
        body = events if isinstance(events, bytes) else json.dumps(events).encode()
        headers = {"content-type": "application/json", **kw.pop("headers", {})}
        if tok is not None:
            headers["authorization"] = f"Bearer {tok}"
        return await self.http.post("/v1/events", content=body, headers=headers, **kw)


@asynccontextmanager
async def collector_rig(producer: FakeProducer | None = None, capacity: int = 1000,
                        **config: Any) -> AsyncIterator[Rig]:
    """A running collector (fake broker) with its client."""
    producer = producer or FakeProducer()
    sink = Sink(producer, capacity, backoff=Backoff(base=0.01, cap=0.05))
    collector = Collector(replace(CONFIG, **config), sink, lambda: NOW_S)
    await sink.start()
    transport = httpx.ASGITransport(app=create_app(collector))
    async with httpx.AsyncClient(transport=transport, base_url="http://collect") as http:
        yield Rig(producer, sink, collector, http)
    await sink.stop(drain_s=0)
