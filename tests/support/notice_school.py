"""N families covered by a line incident, on a real chat gateway and outbox, some with their app
open (it acks every message): for the specs of the covered notices' bulk send step."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import ClientConnection, connect

from detectors.records import Incident, Outreach, case_id_for
from monitor.streaming.bus_feed import ListOutcomeSink
from outreach.channels import CHANNEL_NAMES
from outreach.channels.chat import ChatChannel
from outreach.channels.chat_gateway import ChatGateway
from outreach.channels.chat_tokens import make_token
from outreach.contact.chain import Waits
from outreach.contact.runtime import CaseRuntime, RuntimeConfig
from outreach.decide.decision import COVERED_BY_LINE_INCIDENT, ChannelName
from outreach.store.cases import CaseStore
from outreach.store.directory import DirectoryStore
from outreach.store.directory_import import import_file
from outreach.store.outbox import Outbox
from outreach.store.queue import QueueStore
from tests.support.channel_fakes import FakeChannel
from tests.support.line_fakes import line_incident
from tests.support.live_support import HEADER, T0, decision, incident

NOW = T0 + 60_000  # the wall clock of the runtime and the store
NOW_S = NOW / 1000
SECRET = b"notice-secret"
WAITS = Waits(chat_s=0.3, call_s=0.3, sms_s=0.3)


def student(i: int) -> str:
    """Family `i`'s student id."""
    return f"fam-{i}"


def family(i: int) -> Incident:
    """Family `i`'s own problem, a moment after the edge went down."""
    return incident(1, student=student(i), start=T0 + 1_000 + (i % 7) * 1_000)


def notice_of(fam: Incident) -> Outreach:
    """The policy's decision for a covered family: the in-app notice."""
    return decision(fam, "chat", COVERED_BY_LINE_INCIDENT)


async def import_families(engine: AsyncEngine, tmp_path: Path, n: int) -> DirectoryStore:
    """`n` families (every third in English) in the directory."""
    rows = "".join(f"{student(i)},Kid {i},Parent {i},+1415555{i:04d},mother,sms,"
                   f"{'en' if i % 3 == 0 else 'zh-CN'},UTC,,no\n" for i in range(n))
    path = tmp_path / f"families-{engine.dialect.name}-{id(engine)}.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    directory = DirectoryStore(engine)
    assert (await import_file(path, directory)).students == n
    return directory


@dataclass
class App:
    """A family's class app: connected, it acks every message it is sent."""

    ws: ClientConnection
    shown: list[str] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                frame: dict[str, Any] = json.loads(raw)
                if frame.get("type") == "message":
                    self.shown.append(str(frame["id"]))
                    await self.ws.send(json.dumps({"type": "ack", "id": frame["id"]}))


@dataclass
class NoticeSchool:
    """A runtime over `n` covered families, its chat gateway and the apps that are open."""

    engine: AsyncEngine
    runtime: CaseRuntime
    gateway: ChatGateway
    chat: ChatChannel
    sink: ListOutcomeSink
    fams: list[Incident]
    apps: dict[str, App]

    @property
    def line(self) -> Incident:
        return line_incident("open", [f.session_id or "" for f in self.fams], start=T0)

    def case_ids(self) -> list[str]:
        return [case_id_for(f.incident_id) for f in self.fams]

    async def open_app(self, student_id: str) -> App:
        """Connect `student_id`'s app (it acks what it is sent)."""
        token = make_token(student_id, SECRET, int(NOW_S) + 600)
        app = App(await connect(f"{self.gateway.url}?token={token}"))
        app.task = asyncio.create_task(app.run())
        async with asyncio.timeout(5):
            while not self.gateway.connected(student_id):
                await asyncio.sleep(0.005)
        self.apps[student_id] = app
        return app

    async def aclose(self) -> None:
        await self.runtime.aclose()
        for app in self.apps.values():
            await app.ws.close()
            if app.task is not None:
                await asyncio.gather(app.task, return_exceptions=True)
        await self.gateway.stop()


@contextlib.asynccontextmanager
async def notice_school(
    engine: AsyncEngine, tmp_path: Path, n: int, *, chat: type[ChatChannel] = ChatChannel,
    bulk: bool = True, directory: DirectoryStore | None = None, chat_late: bool = False,
) -> AsyncIterator[NoticeSchool]:
    """`n` families, a runtime on a real chat channel (`chat`: its class), in bulk or not
    (`chat_late`: the chat put among the runtime's channels after it was made, as
    `firstcall outreach` does once its gateway is up)."""
    directory = directory or await import_families(engine, tmp_path, n)
    cases = CaseStore(engine, lambda: NOW)
    gateway = await ChatGateway(Outbox(engine, lambda: NOW), SECRET,
                                clock_s=lambda: NOW_S).start()  # fmt: skip
    channel = chat(gateway, ack_timeout_s=2.0)
    fakes: dict[ChannelName, Any] = {name: FakeChannel(name) for name in CHANNEL_NAMES}
    sink = ListOutcomeSink()
    channels = {**fakes} if chat_late else {**fakes, "chat": channel}
    runtime = CaseRuntime(
        cases, directory, channels, sink,
        config=RuntimeConfig(WAITS, close_wait_s=5),
        queue=QueueStore(engine, cases, lambda: NOW), wall=lambda: NOW)  # fmt: skip
    channels["chat"] = channel
    if not bulk:
        runtime.chain.lane = None  # every send step alone: the one-by-one path
    school = NoticeSchool(engine, runtime, gateway, channel, sink,
                          [family(i) for i in range(n)], {})  # fmt: skip
    try:
        yield school
    finally:
        await school.aclose()
