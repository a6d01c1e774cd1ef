"""The demo's console tokens stay the same across runs on one machine."""

from __future__ import annotations

import stat
from pathlib import Path

from monitor.demo_web import demo_tokens
from outreach.store.db import open_database
from outreach.store.users import UserStore


async def _fresh_users(db: Path) -> UserStore:
    db.unlink(missing_ok=True)
    return UserStore(await open_database(str(db)))


async def test_a_second_run_gives_the_same_tokens_and_they_sign_in(tmp_path: Path) -> None:
    kept = tmp_path / "demo-tokens.json"
    first = await demo_tokens(await _fresh_users(tmp_path / "a.db"), kept)
    users = await _fresh_users(tmp_path / "a.db")  # the demo starts a fresh database each run
    second = await demo_tokens(users, kept)
    assert first == second
    agent, ops = second
    assert (await users.authenticate(agent)) is not None
    assert (await users.authenticate(ops)).role == "ops"  # type: ignore[union-attr]
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    await users.engine.dispose()


async def test_a_damaged_token_file_gives_new_tokens(tmp_path: Path) -> None:
    kept = tmp_path / "demo-tokens.json"
    kept.write_text('{"demo-agent": "not a token", "demo-ops": 7}')
    users = await _fresh_users(tmp_path / "b.db")
    agent, ops = await demo_tokens(users, kept)
    assert agent.startswith("fc.") and (await users.authenticate(agent)) is not None
    assert (await demo_tokens(users, kept)) == (agent, ops)
    await users.engine.dispose()
