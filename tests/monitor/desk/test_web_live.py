"""The websocket hub: tokens in the first frame, presence of agents, change notices."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from monitor.desk.app import create_app
from tests.support.channel_fakes import serve_asgi
from tests.support.desk_scenario import scripted_desk


async def frames_until(ws: object, topic: str) -> list[str]:
    seen: list[str] = []
    while topic not in seen:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 5))  # type: ignore[attr-defined]
        seen.extend(msg.get("topics", []))
    return seen


async def test_a_bad_token_is_closed_with_4401_and_a_good_one_hears_changes(
        tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk:
        app = create_app(desk.live.desk, desk.users)
        ann = await desk.users.add("ann", "agent")
        async with serve_asgi(app) as base:
            url = base.replace("http", "ws") + "/ws"
            async with connect(url) as ws:
                await ws.send(json.dumps({"type": "auth", "token": "fc.nope.nope"}))
                assert json.loads(await ws.recv()) == {"type": "error", "error": "bad_token"}
                try:
                    await asyncio.wait_for(ws.recv(), 5)
                except ConnectionClosed as closed:
                    assert closed.rcvd is not None and closed.rcvd.code == 4401
            async with connect(url) as ws, httpx.AsyncClient(base_url=base) as http:
                await ws.send(json.dumps({"type": "auth", "token": ann}))
                assert json.loads(await ws.recv()) == {"type": "hello", "user": "ann",
                                                       "role": "agent"}
                headers = {"Authorization": f"Bearer {ann}"}
                queue = (await http.get("/api/queue", headers=headers)).json()
                assert [(a["name"], a["free"]) for a in queue["agents"]] == [("ann", True)]
                await desk.run_to(80)  # the lag reaches the queue
                await frames_until(ws, "queue")
                case_id = (await http.get("/api/queue", headers=headers)).json()[
                    "waiting"][0]["case_id"]
                assert (await http.post(f"/api/cases/{case_id}/claim",
                                        headers=headers)).status_code == 200
                await frames_until(ws, f"case:{case_id}")
                queue = (await http.get("/api/queue", headers=headers)).json()
                assert [(a["name"], a["free"]) for a in queue["agents"]] == [("ann", False)]
            await asyncio.sleep(0.2)
            async with httpx.AsyncClient(base_url=base) as http:
                queue = (await http.get("/api/queue", headers=headers)).json()
            assert [(a["name"], a["online"]) for a in queue["agents"]] == [("ann", False)]
