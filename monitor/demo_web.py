"""The demo's web side: case database, desk, console server and the local Twilio stand-in."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import socket
import sys
import webbrowser
from dataclasses import dataclass
from typing import TextIO

import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.desk.app import create_app
from monitor.desk.live import LiveDesk, LiveOptions, SimClock
from monitor.simulate.twilio_standin import TwilioStandIn
from outreach.channels.base import OutboundMessage, SendResult
from outreach.channels.twilio_client import TwilioSettings
from outreach.channels.twilio_voice import TwilioVoiceChannel
from outreach.decide.decision import ChannelName
from outreach.store.db import open_database
from outreach.store.users import UserStore

TEACHERS = ("Ms. Berg", "Mr. Lund", "Ms. Dahl", "Mr. Haugen", "Ms. Strand", "Mr. Moe")
GUARDIANS = ("Grandma", "Grandpa", "Mum", "Dad")


def _pick(seq: tuple[str, ...], key: str) -> str:
    return seq[int(hashlib.blake2b(key.encode(), digest_size=2).hexdigest(), 16) % len(seq)]


def demo_teacher(classroom_id: str) -> str:
    """A made-up teacher per simulated classroom."""
    return _pick(TEACHERS, classroom_id)


async def demo_phone(student_id: str) -> tuple[str, str, str]:
    """A made-up guardian (name, Norwegian mobile number, language) per simulated family."""
    digits = int(hashlib.blake2b(student_id.encode(), digest_size=4).hexdigest(), 16) % 10**7
    return (f"{_pick(GUARDIANS, student_id)} of {student_id}", f"+479{digits:07d}", "en")


@dataclass
class DemoPhones:
    """Calls go through the Twilio stand-in; about half the demo families do not pick up."""

    voice: TwilioVoiceChannel
    name: ChannelName = "call"

    async def send(self, message: OutboundMessage) -> SendResult:
        """Place the call, then (demo only) let some families not answer."""
        result = await self.voice.send(message)
        if result.ok and message.message_id and _pick(("yes", "no"), message.student_id) == "no":
            return SendResult("failed", provider_id=result.provider_id, reason="no-answer")
        return result

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self.voice.aclose()


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


@dataclass
class DemoWeb:
    """Everything the demo runs beside the terminal view."""

    live: LiveDesk
    engine: AsyncEngine
    server: uvicorn.Server
    task: asyncio.Task[None]
    standin: TwilioStandIn
    calls: DemoPhones
    url: str
    agent_token: str
    ops_token: str

    def announce(self, out: TextIO, *, open_browser: bool) -> None:
        """Print where the console is (with tokens) and open it if we can."""
        console = f"{self.url}/console#token={self.agent_token}"
        print(f"console: {console} (user demo-agent, token {self.agent_token})", file=out)
        print(f"ops dashboard: {self.url}/dashboard#token={self.ops_token} "
              f"(user demo-ops, token {self.ops_token}); reports: {self.url}/reports",
              file=out, flush=True)
        graphical = sys.platform != "linux" or bool(
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
        if open_browser and graphical:
            with contextlib.suppress(Exception):
                webbrowser.open(console)

    async def stop(self) -> None:
        """Stop the server, close the phone client and the database."""
        self.server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.task, 5)
        await self.calls.aclose()
        self.standin.stop()
        await self.engine.dispose()


async def start_web(args: argparse.Namespace, start_ms: int) -> DemoWeb:
    """A fresh case database under `args.dir`, the desk, the console on `args.port`."""
    args.dir.mkdir(parents=True, exist_ok=True)
    db = args.dir / "demo.db"
    db.unlink(missing_ok=True)
    engine = await open_database(str(db))
    clock = SimClock(start_ms)
    users = UserStore(engine, clock)
    agent_token = await users.add("demo-agent", "agent")
    ops_token = await users.add("demo-ops", "ops")
    standin = TwilioStandIn().start()
    calls = DemoPhones(TwilioVoiceChannel(TwilioSettings(
        standin.account_sid, standin.auth_token, "+4721000000", api_base_url=standin.base_url)))
    live = LiveDesk(engine, clock, LiveOptions(call_channel=calls, phone_of=demo_phone,
                                               teacher_of=demo_teacher, escalate_after_ms=20_000))
    app = create_app(live.desk, users)
    port = args.port if args.port == 0 or _port_free(args.host, args.port) else 0
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, port))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    host, bound = sock.getsockname()[:2]
    return DemoWeb(live, engine, server, task, standin, calls, f"http://{host}:{bound}",
                   agent_token, ops_token)
