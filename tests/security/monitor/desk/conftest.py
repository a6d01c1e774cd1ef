"""The desk's web app over the scripted school, with a token per role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from monitor.desk.app import create_app
from tests.support.desk_api import DeskClient
from tests.support.desk_scenario import scripted_desk


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[DeskClient]:
    """The desk app in process (ASGI) with users ann, bob (agents), olga (ops), vic (viewer)."""
    async with scripted_desk(tmp_path) as desk:
        app = create_app(desk.live.desk, desk.users)
        tokens = {name: await desk.users.add(name, role) for name, role in
                  (("ann", "agent"), ("bob", "agent"), ("olga", "ops"), ("vic", "viewer"))}
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://desk") as http:
            yield DeskClient(http, desk, tokens, app)
