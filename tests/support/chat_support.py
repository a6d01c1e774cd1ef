"""What the chat gateway's tests share: a migrated SQLite database for its outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.store.db import make_engine, upgrade


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated SQLite database (the chat outbox's), disposed after the test."""
    eng = make_engine(str(tmp_path / "chat.db"))
    await upgrade(eng)
    yield eng
    await eng.dispose()
