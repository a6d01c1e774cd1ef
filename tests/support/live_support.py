"""A live outreach runner on a SQLite case database with fake channels (for the tests)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from detectors.records import Incident, Outreach, case_id_for
from monitor.simulate.twilio_standin import TwilioStandIn
from monitor.streaming.bus_feed import ListOutcomeSink
from outreach.channels import CHANNEL_NAMES, Channel
from outreach.channels.twilio_client import TwilioSender, TwilioSettings
from outreach.channels.twilio_sms import TwilioSmsChannel
from outreach.channels.twilio_voice import TwilioVoiceChannel
from outreach.channels.webhook import PageResult
from outreach.contact.chain import Waits
from outreach.contact.metrics import OutreachMetrics
from outreach.contact.runtime import CaseRuntime, RuntimeConfig
from outreach.decide.clock import Clock, now_ms
from outreach.decide.decision import ChannelName
from outreach.store.cases import CaseStore
from outreach.store.directory import DirectoryStore
from outreach.store.directory_import import import_file
from tests.support.channel_fakes import FakeChannel, FakeSleep

T0 = 1_767_258_000_000  # 2026-01-01 09:00 UTC = 17:00 in Asia/Shanghai
HEADER = (
    "student_id,student_name,guardian_name,phone,relation,preferred_channel,"
    "language,time_zone,quiet_hours,do_not_call\n"
)
FAMILIES = (
    "stu-1,小明,王奶奶,+8613812345678,grandmother,call,zh-CN,Asia/Shanghai,,no\n"
    "stu-dnc,小红,李爷爷,+8613812340000,grandfather,call,zh-CN,Asia/Shanghai,,yes\n"
    "stu-quiet,小刚,张奶奶,+8613812341111,grandmother,call,zh-CN,Asia/Shanghai,16:00-20:00,no\n"
    "stu-sms,Amy,Joe,+14155550123,grandfather,sms,en,America/Los_Angeles,,no\n"
)
FAST = Waits(chat_s=0.05, call_s=0.05, sms_s=0.05)


@dataclass
class FakePager:
    """Records every page; answers `ok` unless told otherwise."""

    ok: bool = True
    pages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def page(self, key: str, payload: Mapping[str, Any]) -> PageResult:
        """Keep the page."""
        self.pages.append((key, dict(payload)))
        return PageResult(self.ok, 200 if self.ok else 500, 1)


@dataclass
class Harness:
    """Everything a runner test looks at."""

    engine: AsyncEngine
    cases: CaseStore
    directory: DirectoryStore
    fakes: dict[ChannelName, FakeChannel]
    sink: ListOutcomeSink
    pager: FakePager
    metrics: OutreachMetrics
    runner: CaseRuntime

    def restart(self) -> Harness:
        """A fresh runner (new memory, new channels) on the same database."""
        return make_runner(self.engine, self.cases, self.directory, self.runner.config.waits)

    def sent(self, channel: ChannelName) -> list[str]:
        """Message ids sent on a channel."""
        return [m.message_id for m in self.fakes[channel].sent]

    def counted(self, name: str, **labels: str) -> float:
        """A metric sample's value (0 when absent)."""
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


def make_runner(
    engine: AsyncEngine, cases: CaseStore, directory: DirectoryStore, waits: Waits = FAST,
    wall: Clock = now_ms,
    channels: Mapping[ChannelName, Channel] | None = None,
) -> Harness:
    """A runner with fake channels (but `channels`), a list sink and a fake pager (on `wall`)."""
    fakes: dict[ChannelName, FakeChannel] = {n: FakeChannel(n) for n in CHANNEL_NAMES}
    sink, pager, metrics = ListOutcomeSink(), FakePager(), OutreachMetrics.create()
    runner = CaseRuntime(
        cases, directory, {**fakes, **(channels or {})}, sink,
        config=RuntimeConfig(waits=waits, close_wait_s=5), metrics=metrics, pager=pager,
        wall=wall,
    )  # fmt: skip
    return Harness(engine, cases, directory, fakes, sink, pager, metrics, runner)


async def harness(engine: AsyncEngine, tmp_path: Path, waits: Waits = FAST) -> Harness:
    """The families above imported into a migrated database, and a runner over it."""
    path = tmp_path / "families.csv"
    path.write_text(HEADER + FAMILIES, encoding="utf-8")
    directory = DirectoryStore(engine)
    assert (await import_file(path, directory)).imported
    return make_runner(engine, CaseStore(engine), directory, waits)


def incident(
    n: int,
    state: str = "open",
    *,
    student: str = "stu-1",
    kind: str = "disconnect",
    room: str = "room-1",
    start: int = T0,
    ended: int | None = None,
) -> Incident:
    """Session incident number `n` of `student` (same id for every state)."""
    return Incident(
        f"{kind}-{student}-{n}", kind, state, start, start + 5_000,  # type: ignore[arg-type]
        ended if ended is not None or state != "closed" else start + 60_000,
        {"edge": "e1", "isp": "isp-a", "region": "north"}, {},
        f"sess-{student}-{room}", student, room,
    )  # fmt: skip


def decision(inc: Incident, action: str, reason: str = "") -> Outreach:
    """The policy's decision about `inc`."""
    return Outreach(
        inc.incident_id, case_id_for(inc.incident_id), inc.session_id or "",
        inc.student_id or "", action, reason or inc.kind,  # type: ignore[arg-type]
        inc.detected_at + 10_000,
    )  # fmt: skip


async def until(check: Callable[[], Awaitable[bool] | bool], timeout_s: float = 5.0) -> None:
    """Wait until `check()` holds (polling), or fail."""
    async with asyncio.timeout(timeout_s):
        while True:
            value = check()
            if not isinstance(value, bool):
                value = await value
            if value:
                return
            await asyncio.sleep(0.005)


@dataclass
class Pages:
    """The infrastructure team's webhook receiver."""

    got: list[dict[str, object]]

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.got.append(await request.json())
            return Response(status_code=202)

        return Starlette(routes=[Route("/page", hook, methods=["POST"])])


@asynccontextmanager
async def twilio(standin: TwilioStandIn, callback_base: str) -> AsyncIterator[dict[str, object]]:
    settings = TwilioSettings(
        standin.account_sid, standin.auth_token, "+14155550100",
        api_base_url=standin.base_url, status_callback_url=f"{callback_base}/twilio/status",
        gather_action_url=f"{callback_base}/twilio/gather",
    )  # fmt: skip
    voice = TwilioVoiceChannel(settings, TwilioSender(settings, sleep=FakeSleep()))
    sms = TwilioSmsChannel(settings, TwilioSender(settings, sleep=FakeSleep()))
    try:
        yield {"call": voice, "sms": sms}
    finally:
        await voice.aclose()
        await sms.aclose()
