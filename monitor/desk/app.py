"""The app factory: API, websocket hub and the static console, dashboard and reports pages."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Sequence
from importlib import resources
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from monitor.desk.api import routes
from monitor.desk.api_base import DEFAULT_SLA_WARN_MS, Api
from monitor.desk.desk import Desk
from monitor.desk.hub import Hub
from monitor.desk.openapi import openapi
from monitor.desk.presence import Presence
from monitor.desk.replicas import Replicas
from outreach.channels.body_limit import DESK_MAX_BODY, TWILIO_MAX_BODY, BodyLimit
from outreach.decide.queue_rules import DEFAULT_SLA_MS
from outreach.store.notices import Notices, supported
from outreach.store.users import UserStore

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
       "base-uri 'none'; form-action 'self'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


class SecurityHeaders:
    """Same-origin scripts only, no framing, no sniffing, no referrer (tokens stay home).

    Plain ASGI (not `BaseHTTPMiddleware`, which runs every request in an extra task).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.raw = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers to every HTTP response that does not set them itself."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in self.raw if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


TOKENS_REMEMBERED_MS = 5_000  # a token is checked in the database at most this often (the
# hub rechecks open sockets as often: a removed user is locked out within 5 s either way)
PAGES = {"/console": "console.html", "/dashboard": "dashboard.html", "/reports": "reports.html",
         "/reports/voc": "voc.html"}


def static_dir() -> Path:
    """Where the pages, scripts and styles live."""
    return Path(str(resources.files("monitor.desk") / "static"))


def create_app(desk: Desk, users: UserStore, *, sla_ms: int = DEFAULT_SLA_MS,
               extra_routes: Sequence[BaseRoute] = (), sla_warn_ms: int = DEFAULT_SLA_WARN_MS,
               time_speed: float = 1.0) -> Starlette:
    """The whole web app over a desk (cases, queue, telemetry) and a user store.

    `extra_routes`: e.g. the signed Twilio callbacks (they carry their own auth);
    `sla_warn_ms`: amber before the SLA; `time_speed`: the demo's clock against real time.
    """
    users.remember(TOKENS_REMEMBERED_MS)
    presence = Presence(desk.clock, replica=f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}")
    hub = Hub(users, presence)
    desk.notify = hub.notify
    desk.notify_view = hub.notify_view
    engine = desk.store.engine
    replicas = Replicas(Notices(engine), presence, hub.notify) if supported(engine) else None
    api = Api(desk, users, presence, hub, sla_ms, sla_warn_ms, time_speed,
              trust_notices=lambda: replicas is not None and replicas.notices.listening.is_set())
    spec = openapi()

    async def index(request: Request) -> Response:
        return RedirectResponse("/console")

    async def page(request: Request) -> Response:
        return FileResponse(static_dir() / PAGES[request.url.path],
                            headers={"Cache-Control": "no-store"})

    async def favicon(request: Request) -> Response:
        return FileResponse(static_dir() / "favicon.ico", media_type="image/x-icon",
                            headers={"Cache-Control": "public, max-age=86400"})

    async def spec_json(request: Request) -> Response:
        return JSONResponse(spec)

    async def metrics(request: Request) -> Response:
        m = desk.metrics
        rows = await desk.queue.rows()
        now = desk.clock()
        waits = [now - r.queued_at for r in rows if r.owner is None]
        m.queue_depth.set(len(waits))
        m.queue_held.set(len(rows) - len(waits))
        m.queue_oldest_wait.set(max(waits, default=0) / 1000)
        m.queue_breached.set(sum(1 for w in waits if w > sla_ms))
        desk.trends.add(now, {"queue_depth": len(waits)})  # each scrape is a look too
        m.agents_online.set(len(presence.online()))
        return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def ws(websocket: WebSocket) -> None:
        await hub.serve(websocket)

    async def not_found(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": "not_found", "detail": request.url.path}, status_code=404)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": "method_not_allowed", "detail": request.method},
                            status_code=405)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        shared = None if replicas is None else asyncio.create_task(replicas.run())
        yield
        if shared is not None:
            shared.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await shared
        await hub.aclose()

    app = Starlette(
        middleware=[Middleware(SecurityHeaders),
                    Middleware(BodyLimit, max_bytes=DESK_MAX_BODY,
                               prefixes={"/twilio/": TWILIO_MAX_BODY})],
        routes=[
            Route("/", index),
            *[Route(p, page) for p in PAGES],
            Route("/favicon.ico", favicon),
            Route("/api/openapi.json", spec_json),
            Route("/healthz", health),
            Route("/metrics", metrics),
            *routes(api),
            WebSocketRoute("/ws", ws),
            *extra_routes,
            Mount("/static", StaticFiles(directory=static_dir()), name="static"),
        ],
        exception_handlers={404: not_found, 405: not_allowed},
        lifespan=lifespan,
    )
    app.state.api = api
    app.state.replicas = replicas  # None on SQLite: one process, told in process
    return app
