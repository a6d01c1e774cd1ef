"""Desk tokens expire, record their last use, and a removed user's open consoles are closed."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from monitor.apps.user import list_line
from monitor.cli import main
from monitor.desk.app import create_app
from outreach.store.db import make_engine, upgrade
from outreach.store.users import DAY_MS, LAST_USE_STEP_MS, TOKEN_DAYS, UserStore
from tests.support.channel_fakes import serve_asgi
from tests.support.desk_scenario import scripted_desk

TOKEN_TTL_MS = TOKEN_DAYS * DAY_MS  # what the scripted desk's users get


class Clock:
    """Milliseconds moved by hand."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


async def test_a_token_works_until_it_expires_and_its_last_use_is_kept(tmp_path: Path) -> None:
    engine = make_engine(str(tmp_path / "desk.db"))
    await upgrade(engine)
    clock = Clock(1_767_258_000_000)
    users = UserStore(engine, clock, token_ttl_ms=2 * DAY_MS)
    try:
        token = await users.add("ann", "agent")
        [info] = await users.list()
        assert (info.expires_at, info.last_used_at) == (clock.now + 2 * DAY_MS, None)
        issued = clock.now
        clock.now += 1000
        assert await users.authenticate(token) is not None
        assert (await users.list())[0].last_used_at == issued + 1000
        clock.now += LAST_USE_STEP_MS // 2  # within the step: not written again
        assert await users.authenticate(token) is not None
        assert (await users.list())[0].last_used_at == issued + 1000
        clock.now += LAST_USE_STEP_MS
        assert await users.authenticate(token) is not None
        assert (await users.list())[0].last_used_at == clock.now
        assert await users.live_tokens([token.split(".")[1], "nope"]) == {token.split(".")[1]}
        clock.now = issued + 2 * DAY_MS  # the expiry itself: refused
        assert await users.authenticate(token) is None
        assert await users.live_tokens([token.split(".")[1]]) == set()
    finally:
        await engine.dispose()


async def auth(url: str, token: str) -> ClientConnection:
    ws = await connect(url)
    await ws.send(json.dumps({"type": "auth", "token": token}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "hello"
    return ws


async def closed_with(ws: ClientConnection) -> tuple[list[dict[str, str]], int | None]:
    """Frames until the server closes the socket, and its close code."""
    frames: list[dict[str, str]] = []
    try:
        while True:
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
    except ConnectionClosed as closed:
        return frames, None if closed.rcvd is None else closed.rcvd.code


async def test_a_remembered_token_is_checked_again_after_its_time_and_forgotten_on_removal(
        tmp_path: Path) -> None:
    engine = make_engine(str(tmp_path / "desk.db"))
    await upgrade(engine)
    clock = Clock(1_767_258_000_000)
    users = UserStore(engine, clock, token_ttl_ms=2 * DAY_MS)
    users.remember(1000)  # the desk's consoles ask every second or so
    other = UserStore(engine, clock)  # `firstcall user remove` in another process
    try:
        ann, bob = await users.add("ann", "agent"), await users.add("bob", "agent")
        assert await users.authenticate(ann) is not None
        assert await users.authenticate(ann[:-1] + ("x" if ann[-1] != "x" else "y")) is None
        assert await other.remove("ann")
        assert await users.authenticate(ann) is not None  # remembered for a second
        clock.now += 1000
        assert await users.authenticate(ann) is None
        assert await users.authenticate(bob) is not None
        assert await users.remove("bob")
        assert await users.authenticate(bob) is None  # removed here: forgotten at once
        carl, issued = await users.add("carl", "agent"), clock.now
        assert await users.authenticate(carl) is not None
        clock.now = issued + 2 * DAY_MS - 1  # a remembered token still ends at its expiry
        assert await users.authenticate(carl) is not None
        clock.now += 1
        assert await users.authenticate(carl) is None
    finally:
        await engine.dispose()


async def test_removing_a_user_closes_their_open_consoles_and_no_one_elses(
        tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk:
        app = create_app(desk.live.desk, desk.users)
        hub = app.state.api.hub
        hub.recheck_s = 0.05
        ann, bob = await desk.users.add("ann", "agent"), await desk.users.add("bob", "agent")
        async with serve_asgi(app) as base:
            url = base.replace("http", "ws") + "/ws"
            ann1, ann2, bob1 = await auth(url, ann), await auth(url, ann), await auth(url, bob)
            # `firstcall user remove` runs in another process: another store, same database
            other = UserStore(desk.engine)
            assert await other.remove("ann")
            for ws in (ann1, ann2):
                frames, code = await closed_with(ws)
                assert frames[-1] == {"type": "error", "error": "token_revoked"}
                assert code == 4401
            await asyncio.sleep(0.2)  # a few more rounds: bob stays
            await bob1.send("ping")
            desk.live.desk.notify("queue")
            assert "queue" in json.loads(await asyncio.wait_for(bob1.recv(), 5))["topics"]
            await bob1.close()
        await hub.aclose()


async def test_a_console_whose_token_expires_is_closed(tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk:
        app = create_app(desk.live.desk, desk.users)
        hub = app.state.api.hub
        hub.recheck_s = 0.05
        olga = await desk.users.add("olga", "ops")
        async with serve_asgi(app) as base:
            ws = await auth(base.replace("http", "ws") + "/ws", olga)
            await asyncio.sleep(0.2)
            assert len(hub._sockets) == 1  # rechecked a few times, still open before expiry
            desk.live.clock.move_to(desk.live.clock() + TOKEN_TTL_MS)
            frames, code = await closed_with(ws)
            assert (frames[-1]["error"], code) == ("token_revoked", 4401)
        await hub.aclose()


def test_user_list_shows_expiry_and_last_use(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "desk.db")
    assert main(["user", "--db", db, "add", "alice", "--role", "ops", "--days", "7"]) == 0
    token = capsys.readouterr().out.strip()
    assert main(["user", "--db", db, "list"]) == 0
    name, role, expires, last = capsys.readouterr().out.rstrip("\n").split("\t")
    assert (name, role, last) == ("alice", "ops", "last used never")
    assert expires.startswith("expires 20")

    async def use() -> str:
        engine = make_engine(db)
        users = UserStore(engine, token_ttl_ms=DAY_MS)
        try:
            assert await users.authenticate(token) is not None
            [info] = await users.list()
            assert info.expires_at - info.created_at == 7 * DAY_MS
            return list_line(info)
        finally:
            await engine.dispose()

    line = asyncio.run(use())
    assert main(["user", "--db", db, "list"]) == 0
    out = capsys.readouterr().out
    assert out == line + "\n" and "last used never" not in out
    assert main(["user", "--db", db, "add", "bob", "--role", "ops", "--days", "0"]) == 2


async def test_the_console_of_a_removed_user_asks_for_a_token_again(tmp_path: Path) -> None:
    from playwright.async_api import expect

    from tests.support.browser import chromium

    async with scripted_desk(tmp_path) as desk, chromium() as browser:
        app = create_app(desk.live.desk, desk.users)
        app.state.api.hub.recheck_s = 0.05
        ann = await desk.users.add("ann", "agent")
        async with serve_asgi(app) as base:
            page = await browser.new_page()
            await page.goto(f"{base}/console#token={ann}")
            await expect(page.locator("#live.on")).to_be_visible(timeout=10_000)
            assert await desk.users.remove("ann")
            await expect(page.locator("#login")).to_be_visible(timeout=10_000)
            await expect(page.locator("#login-msg")).to_contain_text("revoked or has expired")
            await expect(page.locator("#live.on")).to_have_count(0)
        await app.state.api.hub.aclose()
