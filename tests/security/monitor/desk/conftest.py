"""The desk's web app over the scripted school, with a token per role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.desk_api import DeskClient, desk_client
from tests.support.desk_scenario import scripted_desk


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[DeskClient]:
    """The desk app in process (ASGI) with users ann, bob (agents), olga (ops), vic (viewer)."""
    async with scripted_desk(tmp_path) as desk, desk_client(desk) as client:
        yield client
