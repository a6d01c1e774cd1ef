"""The collector's HTTP app: POST /v1/events, websocket /v1/stream, the SDK, probes."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from detectors.telemetry import BadRecord, TelemetryDecoder
from monitor.collect.ingest import TooManyEvents, ingest, split_body
from monitor.collect.limits import SessionRate
from monitor.collect.metrics import CollectMetrics
from monitor.collect.sink import Sink
from monitor.collect.tokens import SessionGrant, TokenRefused, verify
from monitor.platform.logging import get_logger
from outreach.channels.body_limit import BodyLimit

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class CollectConfig:
    """What the collector is handed (from [collect] and [topics])."""

    secret: bytes
    topic: str = "class.telemetry"
    dlq_topic: str = "class.telemetry.dlq"
    token_max_ttl_s: int = 21_600
    allowed_origins: tuple[str, ...] = ()
    max_body_bytes: int = 262_144
    max_events: int = 200
    rate_per_s: float = 20.0
    burst: int = 200
    ack_timeout_s: float = 10.0
    retry_after_s: int = 2
    tracked_sessions: int = 100_000


@dataclass(frozen=True, slots=True)
class Answer:
    """The answer to one request or websocket message."""

    status: int
    body: dict[str, Any]
    retry_after_s: int | None = None


@dataclass
class Collector:
    """Authenticates, limits, validates and hands events to the sink; answers each request."""

    config: CollectConfig
    sink: Sink
    now_s: Callable[[], float]
    metrics: CollectMetrics = field(default_factory=CollectMetrics.create)
    decoder: TelemetryDecoder = field(default_factory=TelemetryDecoder)

    def __post_init__(self) -> None:
        c = self.config
        self.rate = SessionRate(c.rate_per_s, c.burst, c.tracked_sessions)

    def grant(self, token: str | None) -> SessionGrant | TokenRefused:
        """The session a token grants, or why not."""
        return verify(token, self.config.secret, self.now_s(), self.config.token_max_ttl_s)

    def _refuse(self, status: int, reason: str, detail: str,
                retry_after_s: int | None = None) -> Answer:
        self.metrics.rejected.labels(reason).inc()
        body: dict[str, Any] = {"error": reason, "detail": detail}
        if retry_after_s is not None:
            body["retry_after_s"] = retry_after_s
        return Answer(status, body, retry_after_s)

    async def handle(self, body: bytes, grant: SessionGrant) -> Answer:
        """Everything after authentication: split, limit, validate, produce, answer."""
        c = self.config
        started = self.now_s()
        try:
            raws = split_body(body, c.max_events)
        except TooManyEvents as exc:
            return self._refuse(413, "too_many_events", str(exc))
        if isinstance(raws, BadRecord):
            return self._refuse(400, raws.reason, raws.detail)
        wait = self.rate.take(grant.session_id, len(raws), started)
        if math.isinf(wait):
            return self._refuse(413, "too_many_events", f"more than {c.burst} at once")
        if wait > 0:
            return self._refuse(429, "rate_limited", f"{c.rate_per_s:g} events/s per session",
                                max(1, math.ceil(wait)))
        got = ingest(raws, grant, self.decoder, c.topic, c.dlq_topic)
        for e in got.errors:
            self.metrics.rejected.labels(e.reason).inc()
        outcome = await self.sink.submit(got.records + got.dead_letters, c.ack_timeout_s)
        self.metrics.buffered.set(self.sink.buffered)
        if outcome != "acked":
            why = ("buffer_full" if outcome == "full" else "broker_slow")
            return self._refuse(503, why, "the broker has not acknowledged; send again",
                                c.retry_after_s)
        self.metrics.ack_seconds.observe(max(0.0, self.now_s() - started))
        for t, n in got.types.items():
            self.metrics.events.labels(t.lower()).inc(n)
        errors = [{"index": e.index, "reason": e.reason, "detail": e.detail}
                  for e in got.errors]
        status = 400 if errors and not got.records else 202
        return Answer(status, {"accepted": len(got.records), "rejected": errors})


def _token_of(conn: Request | WebSocket) -> str | None:
    auth = conn.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return str(auth[7:].strip())
    token = conn.query_params.get("token") if conn.scope.get("query_string") else None
    return str(token) if token else None


def sdk_source() -> bytes:
    """The browser SDK (monitor/collect/static/firstcall.js) as shipped in the package."""
    return resources.files("monitor.collect").joinpath("static/firstcall.js").read_bytes()


def create_app(collector: Collector) -> Starlette:
    """The Starlette app of `firstcall collect` (body cap and CORS included)."""
    c = collector.config
    m = collector.metrics

    def reply(answer: Answer, transport: str) -> Response:
        m.requests.labels(transport, str(answer.status)).inc()
        headers = {"Retry-After": str(answer.retry_after_s)} if answer.retry_after_s else None
        return JSONResponse(answer.body, status_code=answer.status, headers=headers)

    async def events(request: Request) -> Response:
        grant = collector.grant(_token_of(request))
        if isinstance(grant, TokenRefused):
            return reply(collector._refuse(401, "bad_token", grant.reason), "http")
        return reply(await collector.handle(await request.body(), grant), "http")

    async def stream(ws: WebSocket) -> None:
        origin = ws.headers.get("origin")
        grant = collector.grant(_token_of(ws))
        if isinstance(grant, TokenRefused) or (origin and origin not in c.allowed_origins):
            m.rejected.labels("bad_token" if isinstance(grant, TokenRefused)
                              else "origin").inc()
            await ws.close(code=1008)
            return
        await ws.accept()
        seq = 0
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
                data = message.get("bytes") or (message.get("text") or "").encode()
                seq += 1
                if len(data) > c.max_body_bytes:
                    answer = collector._refuse(413, "body_too_large",
                                               f"at most {c.max_body_bytes} bytes")
                else:
                    answer = await collector.handle(data, grant)
                m.requests.labels("ws", str(answer.status)).inc()
                await ws.send_text(json.dumps({"seq": seq, "status": answer.status,
                                               **answer.body}))
        except WebSocketDisconnect:
            return

    sdk_bytes = sdk_source()

    async def sdk(_request: Request) -> Response:
        return Response(sdk_bytes, media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=300"})

    async def metrics(_request: Request) -> Response:
        m.buffered.set(collector.sink.buffered)
        m.ready.set(1 if collector.sink.connected else 0)
        return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)

    async def healthz(_request: Request) -> Response:
        return Response("ok\n", media_type="text/plain")

    async def readyz(_request: Request) -> Response:
        ok = collector.sink.connected and collector.sink.buffered < collector.sink.capacity
        return Response("ready\n" if ok else "not ready\n", media_type="text/plain",
                        status_code=200 if ok else 503)

    return Starlette(
        routes=[Route("/v1/events", events, methods=["POST"]),
                WebSocketRoute("/v1/stream", stream),
                Route("/sdk/firstcall.js", sdk, methods=["GET"]),
                Route("/metrics", metrics), Route("/healthz", healthz),
                Route("/readyz", readyz)],
        middleware=[
            Middleware(BodyLimit, max_bytes=c.max_body_bytes),
            Middleware(CORSMiddleware, allow_origins=list(c.allowed_origins),
                       allow_methods=["POST", "GET"],
                       allow_headers=["authorization", "content-type"], max_age=600),
        ],
    )
