"""The browser proof's rig: a page with a real WebRTC call, the SDK, a real collector."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, Page, async_playwright
from starlette.applications import Starlette
from starlette.staticfiles import StaticFiles

from bench.procs import stop_process
from detectors.config import DetectionConfig
from detectors.engine import SessionEngine
from detectors.records import Incident
from detectors.telemetry import BadRecord, Event, TelemetryDecoder
from monitor.apps import collect
from monitor.collect.app import CollectConfig
from monitor.collect.tokens import SessionGrant, mint
from monitor.platform.kafka_settings import KafkaSettings
from outreach.store.db import make_engine, upgrade
from outreach.store.directory import DirectoryStore
from outreach.store.directory_import import import_file
from tests.support import browser
from tests.support.channel_fakes import serve_asgi
from tests.support.kafka_broker import free_port
from tests.support.kafka_helpers import collect as read_topic
from tests.support.live_support import HEADER
from tests.support.services import service_missing

WEB = Path(__file__).resolve().parent / "web"
SECRET = b"browser-proof-secret"
DIRECTORY_HEADER = HEADER.strip()
MEDIA_FLAGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
               "--autoplay-policy=no-user-gesture-required"]


@asynccontextmanager
async def chromium_with_media() -> AsyncIterator[BrowserContext]:
    """Debian's Chromium, headless, with the fake camera and microphone."""
    if not Path(browser.CHROMIUM).exists():
        service_missing("Chromium", f"{browser.CHROMIUM} not found")
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=browser.CHROMIUM,
                                     args=browser.ARGS + MEDIA_FLAGS, headless=True)
        try:
            yield await b.new_context(viewport={"width": 900, "height": 700})
        finally:
            await b.close()


@dataclass
class Loop:
    """A page server and a collector on loopback, writing to the test broker."""

    page_url: str
    collect_url: str
    kafka: KafkaSettings

    def token(self, session: str, student: str, classroom: str) -> str:
        """A session token for the page."""
        return mint(SessionGrant(session, student, classroom, int(time.time()) + 600), SECRET)

    async def open_call(self, ctx: BrowserContext, session: str,
                        ice: dict[str, Any] | None = None) -> Page:
        """A page with a running call and the SDK attached to the receiving connection."""
        page = await ctx.new_page()
        await page.goto(f"{self.page_url}/call.html")
        await page.evaluate("(ice) => startCall(ice)", ice or {})
        await page.evaluate("""async ([collect, token, session]) => {
            const FC = await import(collect + '/sdk/firstcall.js');
            window.FirstCall = FC;
            window.fc = FC.attach(window.studentPc, {endpoint: collect, token,
              session_id: session, student_id: 'stu-' + session, classroom_id: 'class-1',
              device: {app_version: 'proof-1', os: 'Debian', device: 'pc'},
              network: {isp: 'loopback', region: 'lab', edge: 'sfu-lab'}});
        }""", [self.collect_url, self.token(session, f"stu-{session}", "class-1"), session])
        return page

    async def events(self, session: str, until_type: str | None = None,
                     timeout_s: float = 20.0) -> list[dict[str, Any]]:
        """The session's events on class.telemetry (until one of `until_type` is there)."""
        deadline = time.monotonic() + timeout_s
        while True:
            got = await read_topic(self.kafka.bootstrap, self.kafka.topics.telemetry,
                                   idle_s=1.0, timeout_s=10)
            mine = [json.loads(r.value) for r in got if r.key == session.encode()]
            if until_type is None or any(e["type"] == until_type for e in mine) \
                    or time.monotonic() > deadline:
                return mine
            await asyncio.sleep(1)


@asynccontextmanager
async def loop_rig(kafka: KafkaSettings) -> AsyncIterator[Loop]:
    """Serve tests/support/web and run `firstcall collect` allowing that page's origin."""
    pages = Starlette()
    pages.mount("/", StaticFiles(directory=WEB))
    async with serve_asgi(pages) as page_url:
        port = free_port()
        opts = collect.Options(
            host="127.0.0.1", port=port, bootstrap=kafka.bootstrap, idempotent=False,
            buffer_events=10_000, log_level="warning",
            config=CollectConfig(secret=SECRET, topic=kafka.topics.telemetry,
                                 dlq_topic=kafka.topics.dlq, allowed_origins=(page_url,)))
        ready = asyncio.Event()
        server = asyncio.create_task(collect.serve(opts, ready))
        await asyncio.wait_for(ready.wait(), 15)
        try:
            yield Loop(page_url, f"http://127.0.0.1:{port}", kafka)
        finally:
            server.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await server


def incidents_of(events: list[dict[str, Any]], until_ms: int | None = None) -> list[Incident]:
    """What the worker's detectors make of these events (the same SessionEngine), with the
    clock advanced to `until_ms` if given (silence counts up to then)."""
    out: list[Incident] = []
    engine = SessionEngine(DetectionConfig(), out.append)
    decoder = TelemetryDecoder()
    for e in sorted(events, key=lambda e: e["ts"]):
        ev: Event | BadRecord = decoder.decode(json.dumps(e).encode())
        assert not isinstance(ev, BadRecord), ev
        engine.feed(ev)
    if until_ms is not None:
        engine.advance(until_ms)
    return out


@dataclass
class OutreachJob:
    """`firstcall outreach` as a process: its case database, chat gateway URL and secret."""

    proc: subprocess.Popen[bytes]
    db: Path
    chat_url: str
    chat_secret: bytes
    log: Path

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        stop_process(self.proc)


async def start_outreach(kafka: KafkaSettings, tmp: Path, students: list[str]) -> OutreachJob:
    """The live outreach service on `kafka`'s topics, with a family for each student."""
    db = tmp / "cases.db"
    engine = make_engine(str(db))
    await upgrade(engine)
    rows = [DIRECTORY_HEADER] + [f"{s},Kid,Grandma,+861390000{i:04d},grandmother,call,zh-CN,UTC,,no"
                                 for i, s in enumerate(students)]
    (tmp / "families.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert (await import_file(tmp / "families.csv", DirectoryStore(engine))).imported
    await engine.dispose()
    chat_port, callback_port = free_port(), free_port()
    secret = b"loop-chat-secret"
    log = tmp / "outreach.log"
    prefix = kafka.topics.telemetry[: -len("class.telemetry")]
    env = {**os.environ, "FIRSTCALL_CHAT_SECRET": secret.decode()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "outreach", "--db", str(db),
         "--bootstrap", kafka.bootstrap, "--topic-prefix", prefix,
         "--group", f"outreach-{prefix}", "--chat-host", "127.0.0.1",
         "--chat-port", str(chat_port), "--callback-host", "127.0.0.1",
         "--callback-port", str(callback_port), "--probe-port", "-1"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    return OutreachJob(proc, db, f"ws://127.0.0.1:{chat_port}/", secret, log)
