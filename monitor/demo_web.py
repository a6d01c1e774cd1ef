"""The demo's web side: case database, the case runtime and desk, the console, Twilio and chat.

The runtime is production's (`outreach.contact.runtime.CaseRuntime`): the in-app chat goes through
the chat gateway, calls and SMS through the real Twilio client against the local Twilio
stand-in, whose status callbacks come back, signed, to production's callback app
(`monitor.streaming.outreach_service.callback_app`) on the console's own server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import socket
import sys
import webbrowser
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.demo_families import (
    RING_S,
    demo_live_config,
    demo_status,
    demo_students,
    demo_teacher,
    seed_families,
)
from monitor.desk.app import create_app
from monitor.desk.live import LiveDesk, LiveOptions, Publish, SimClock
from monitor.simulate import SimConfig
from monitor.simulate.twilio_standin import TwilioStandIn
from monitor.streaming.bus_feed import ListOutcomeSink
from monitor.streaming.outreach_service import callback_app
from outreach.channels.chat import ChatChannel
from outreach.channels.chat_gateway import ChatGateway
from outreach.channels.twilio_client import TwilioSettings
from outreach.channels.twilio_sms import TwilioSmsChannel
from outreach.channels.twilio_voice import TwilioVoiceChannel
from outreach.contact.goodwill import GoodwillMetrics, GoodwillProposer, GoodwillSink
from outreach.contact.outcome_sink import OutcomeSink
from outreach.decide.goodwill import GoodwillRules
from outreach.store.cases import CaseStore
from outreach.store.db import open_database
from outreach.store.goodwill import GoodwillStore
from outreach.store.outbox import Outbox
from outreach.store.users import UserStore

FROM_NUMBER = "+4721000000"


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
    gateway: ChatGateway
    phones: tuple[TwilioVoiceChannel, TwilioSmsChannel]
    url: str
    agent_token: str
    ops_token: str

    def announce(self, out: TextIO, *, open_browser: bool) -> None:
        """Print where the console is (with tokens) and open it if we can."""
        console = f"{self.url}/console#token={self.agent_token}"
        print(f"console: {console} (user demo-agent, token {self.agent_token})", file=out)
        print(f"ops dashboard: {self.url}/dashboard#token={self.ops_token} "
              f"(user demo-ops, token {self.ops_token}); "
              f"reports: {self.url}/reports#token={self.ops_token}",
              file=out, flush=True)
        graphical = sys.platform != "linux" or bool(
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
        if open_browser and graphical:
            with contextlib.suppress(Exception):
                webbrowser.open(console)

    async def stop(self) -> None:
        """Stop the contact chains, the server, the phones, the chat and the database."""
        await self.live.runtime.aclose()
        self.server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.task, 5)
        for phone in self.phones:
            await phone.aclose()
        await self.gateway.stop()
        self.standin.stop()
        await self.engine.dispose()


def _listen(args: argparse.Namespace) -> tuple[socket.socket, str]:
    port = args.port if args.port == 0 or _port_free(args.host, args.port) else 0
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, port))
    host, bound = sock.getsockname()[:2]
    return sock, f"http://{host}:{bound}"


async def demo_tokens(users: UserStore, path: Path) -> tuple[str, str]:
    """The demo's agent and ops tokens: kept in `path` (mode 0600), the same on every run."""
    kept: dict[str, str] = {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(loaded, dict):
            kept = {k: v for k, v in loaded.items() if isinstance(v, str)}
    except (OSError, ValueError):
        pass
    tokens = {}
    for name, role in (("demo-agent", "agent"), ("demo-ops", "ops")):
        try:
            tokens[name] = await users.restore(name, role, kept[name])
        except (KeyError, ValueError):
            tokens[name] = await users.add(name, role)
    if tokens != kept:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(tokens, fh)
    return tokens["demo-agent"], tokens["demo-ops"]


async def start_web(args: argparse.Namespace, config: SimConfig, *,
                    publish: Publish | None = None, sink: OutcomeSink | None = None) -> DemoWeb:
    """A fresh case database under `args.dir` with the day's families, the runtime, the console.

    `publish`: where the pipeline's records go (the demo's bus; the runtime and desk then
    take them from there, `run_bus(web.live, ...)`); `sink`: where outcomes go.
    """
    args.dir.mkdir(parents=True, exist_ok=True)
    db = args.dir / "demo.db"
    db.unlink(missing_ok=True)
    engine = await open_database(str(db))
    clock = SimClock(config.start_ms)
    users = UserStore(engine, clock)
    agent_token, ops_token = await demo_tokens(users, args.dir / "demo-tokens.json")
    goodwill = GoodwillProposer(CaseStore(engine, clock), GoodwillStore(engine, clock),
                                GoodwillRules(), GoodwillMetrics.create())
    options = LiveOptions(live=demo_live_config(args.speed), teacher_of=demo_teacher,
                          sink=GoodwillSink(sink or ListOutcomeSink(), goodwill))
    live = LiveDesk(engine, clock, options, publish=publish)
    await seed_families(live.runtime.directory, demo_students(config))
    standin = TwilioStandIn(auto_delay_s=RING_S / args.speed, status_of=demo_status).start()
    sock, url = _listen(args)
    settings = TwilioSettings(standin.account_sid, standin.auth_token, FROM_NUMBER,
                              api_base_url=standin.base_url,
                              status_callback_url=f"{url}/twilio/status",
                              gather_action_url=f"{url}/twilio/gather")
    phones = (TwilioVoiceChannel(settings), TwilioSmsChannel(settings))
    gateway = await ChatGateway(Outbox(engine, clock), secrets.token_bytes(16),
                                live.runtime.on_reply, host=args.host).start()
    live.channels["chat"] = ChatChannel(gateway, ack_timeout_s=1.0)
    live.channels["call"], live.channels["sms"] = phones
    twilio = callback_app(live.runtime, standin.auth_token)
    app = create_app(live.desk, users, extra_routes=twilio.routes, time_speed=args.speed)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return DemoWeb(live, engine, server, task, standin, gateway, phones, url, agent_token,
                   ops_token)
