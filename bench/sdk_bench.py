"""The SDK's cost in the page: time per getStats round and bytes sent per minute.

    python -m bench --phases sdk [--sdk-seconds 30]

Debian's Chromium (headless, fake camera and microphone) runs the test page's real
WebRTC call (tests/support/web/call.html) with firstcall.js attached, posting to a stub
collector that answers 202 and counts the bytes. "Time per round" is the page's
wall-clock time in one getStats() + mapping round (performance.now), not CPU time.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--use-fake-device-for-media-stream",
         "--use-fake-ui-for-media-stream"]


async def _measure(seconds: float) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    got = {"bytes": 0, "posts": 0, "events": 0}

    async def events(request: Request) -> Response:
        body = await request.body()
        got["bytes"] += len(body)
        got["posts"] += 1
        got["events"] += body.count(b'"v":1')
        return JSONResponse({"accepted": 1, "rejected": []}, status_code=202)

    async def sdk(_request: Request) -> Response:
        return Response((ROOT / "monitor/collect/static/firstcall.js").read_bytes(),
                        media_type="text/javascript")

    app = Starlette(routes=[Route("/v1/events", events, methods=["POST"]),
                            Route("/sdk/firstcall.js", sdk),
                            Mount("/", StaticFiles(directory=ROOT / "tests/support/web"))],
                    middleware=[Middleware(CORSMiddleware, allow_origins=["*"],
                                           allow_headers=["*"], allow_methods=["*"])])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = await browser.new_page()
            await page.goto(f"{url}/call.html")
            await page.evaluate("startCall({})")
            await page.evaluate("""async (url) => {
                const FC = await import(url + '/sdk/firstcall.js');
                window.fc = FC.attach(window.studentPc, {endpoint: url, token: 't',
                  session_id: 's', student_id: 'u', classroom_id: 'c',
                  device: {app_version: 'bench', os: 'Debian', device: 'pc'},
                  network: {isp: 'lo', region: 'lo', edge: 'lo'}});
            }""", url)
            await asyncio.sleep(seconds)
            rounds, cost = await page.evaluate("[window.fc.rounds, window.fc.costMs]")
            await browser.close()
    finally:
        server.should_exit = True
        await task
    return {"seconds": seconds, "rounds": rounds,
            "ms_per_round": round(cost / rounds, 2) if rounds else None,
            "bytes_per_minute": round(got["bytes"] * 60 / seconds),
            "posts_per_minute": round(got["posts"] * 60 / seconds),
            "events": got["events"]}


def run_phase(seconds: float = 30.0) -> dict[str, Any]:
    """Measure the SDK in Chromium for `seconds`."""
    return asyncio.run(_measure(seconds))


def report(r: dict[str, Any]) -> str:
    """The Markdown section of the SDK benchmark."""
    return "\n".join([
        f"### SDK cost in the page (Chromium, real call, {r['seconds']:g} s)", "",
        f"- time per getStats round (getStats + mapping, page wall clock): {r['ms_per_round']} ms "
        f"over {r['rounds']} rounds",
        f"- sent: {r['bytes_per_minute']:,} bytes of request bodies per minute in "
        f"{r['posts_per_minute']} POSTs ({r['events']} events in all)",
    ])
