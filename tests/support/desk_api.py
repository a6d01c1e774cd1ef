"""An in-process client of the desk's web app, with a token per role."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from starlette.applications import Starlette

from monitor.desk.app import create_app
from tests.support.desk_scenario import Desk

ROLES = (("ann", "agent"), ("bob", "agent"), ("olga", "ops"), ("vic", "viewer"))


@dataclass
class DeskClient:
    """An API client plus a token per user name."""

    http: httpx.AsyncClient
    desk: Desk
    tokens: dict[str, str]
    app: Starlette

    def auth(self, who: str) -> dict[str, str]:
        """The `Authorization` header of user `who`."""
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@asynccontextmanager
async def desk_client(desk: Desk, users: Iterable[tuple[str, str]] = ROLES,
                      app: Starlette | None = None) -> AsyncIterator[DeskClient]:
    """The desk's web app (`app`, else made over `desk`) in process (ASGI), with a token for
    each of `users` (name, role)."""
    app = app or create_app(desk.live.desk, desk.users)
    tokens = {name: await desk.users.add(name, role) for name, role in users}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                 base_url="http://desk") as http:
        yield DeskClient(http, desk, tokens, app)
