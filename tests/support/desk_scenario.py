"""A small scripted school for the desk, API and browser tests.

Three students in two lessons, their families in the directory, the production case
runtime (`CaseRuntime`) with fake channels. `stu-1` (room-a, pc on edge-1) starts to
lag at 20 s and keeps lagging; the policy chooses the in-app chat at 34 s, nobody
answers it, nor the call, nor the SMS, so the case goes to the call queue
(`sms_unanswered`). `stu-2` (room-b, ipad on edge-2) drops out at 120 s; the policy
calls at 138 s, the call fails, the SMS is not answered, so a disconnect case joins the
queue above the lag (its head start is larger) until the lag passes its service level
(120 s). The chain's waits are a few milliseconds here, and each second of the school
lets the running chains finish (`run_to`), so the scenario plays the same every time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.desk.live import LiveDesk, LiveOptions, SimClock
from monitor.streaming.bus_feed import ListOutcomeSink
from outreach.channels.base import Channel, OutboundMessage, ProviderStatus, SendResult
from outreach.contact.chain import Waits
from outreach.contact.runtime import RuntimeConfig
from outreach.decide.decision import ChannelName
from outreach.decide.family import Guardian, Student
from outreach.store.db import make_engine, upgrade
from outreach.store.directory import DirectoryStore
from outreach.store.users import UserStore
from tests.support.channel_fakes import FakeChannel

T0 = 1_767_258_000_000  # 2026-01-01 09:00 UTC
LESSON_END = T0 + 40 * 60_000
SESSIONS = {
    "s1": ("stu-1", "room-a", "pc", "edge-1", "fjordnet", "oslo"),
    "s2": ("stu-2", "room-b", "ipad", "edge-2", "kystlink", "bergen"),
    "s3": ("stu-3", "room-a", "pc", "edge-1", "fjordnet", "oslo"),
}
LAG_FROM_S = 20
S2_SILENT_FROM_S = 120
PHONES = {"stu-1": "+4791234561", "stu-2": "+4791234562", "stu-3": "+4791234563"}
FAST = Waits(chat_s=0.02, call_s=0.02, sms_s=0.02)


def raw(event: dict[str, object]) -> bytes:
    """One telemetry record as the client sends it."""
    return orjson.dumps({"v": 1, **event})


def join(sid: str, ts: int, network: tuple[str, str] | None = None) -> bytes:
    """A join with device, app, line and lesson; `network`: (device, conn) instead of the
    session's own device on Wi-Fi."""
    student, room, device, edge, isp, region = SESSIONS[sid]
    device, conn = network or (device, "wifi")
    return raw({"type": "join", "ts": ts, "session_id": sid, "student_id": student,
                "classroom_id": room,
                "client": {"app_version": "5.2.0" if device == "ipad" else "5.1.3", "os": "win",
                           "device": device},
                "network": {"conn": conn, "isp": isp, "region": region, "edge": edge},
                "lesson": {"scheduled_start": T0, "scheduled_end": LESSON_END,
                           "teacher_id": "ms-berg" if room == "room-a" else "mr-lund"}})


def stats(sid: str, ts: int, bad: bool) -> bytes:
    """A stats interval, degraded (RTT 900 ms, 18 % loss, 4 fps, freezes) when `bad`."""
    student, room = SESSIONS[sid][:2]
    values = (dict(rtt_ms=880.0, loss_pct=18.0, fps=4.0, freeze_ms=1300) if bad
              else dict(rtt_ms=60.0, loss_pct=0.2, fps=25.0, freeze_ms=0))
    return raw({"type": "stats", "ts": ts, "session_id": sid, "student_id": student,
                "classroom_id": room, "interval_ms": 2000, "jitter_ms": 4.0, "recv_kbps": 900.0,
                "audio_stall_ms": 0, **values})


def batch_at(second: int, networks: dict[str, tuple[str, str]] | None = None) -> list[bytes]:
    """Everything the three clients send at `second` after T0 (`networks`: device and conn
    by session, where not the default)."""
    ts = T0 + second * 1000
    if second == 0:
        return [join(sid, ts, (networks or {}).get(sid)) for sid in SESSIONS]
    if second % 2:
        return []
    out = [stats("s1", ts, second >= LAG_FROM_S), stats("s3", ts, False)]
    if second < S2_SILENT_FROM_S:
        out.append(stats("s2", ts, False))
    return out


@dataclass
class Phones:
    """A phone provider fake: a call to a family in `unreachable` fails at once (no-answer);
    others are queued (Twilio would report how they ended; nobody does here)."""

    unreachable: frozenset[str] = frozenset({"stu-2"})
    name: ChannelName = "call"

    def __post_init__(self) -> None:
        self.sent: list[OutboundMessage] = []

    async def send(self, message: OutboundMessage) -> SendResult:
        """Record the call; an unreachable family's fails."""
        self.sent.append(message)
        if message.student_id in self.unreachable:
            return SendResult("failed", reason="no-answer")
        return SendResult("queued", provider_id=f"CA{len(self.sent):032d}")

    async def status(self, provider_id: str) -> ProviderStatus | None:
        """Nothing to look up here."""
        return None


@dataclass
class Desk:
    """The live desk and runtime on a fresh database, with users and fake channels."""

    live: LiveDesk
    engine: AsyncEngine
    users: UserStore
    calls: Phones
    chat: FakeChannel
    sms: FakeChannel
    outcomes: ListOutcomeSink
    second: int = -1
    networks: dict[str, tuple[str, str]] = field(default_factory=dict)  # sid -> (device, conn)

    async def run_to(self, second: int, *, settle: bool = True) -> None:
        """Play the school up to `second` after T0 (time moves with the stream).

        `settle`: after each second, let the running contact chains finish.
        """
        for s in range(self.second + 1, second + 1):
            await self.live.feed(batch_at(s, self.networks))
            await self.live.advance(T0 + s * 1000)
            if settle:
                await self.live.runtime.drain()
        self.second = max(self.second, second)


def grandparent(student_id: str) -> Student:
    """A family whose grandmother takes the calls (English)."""
    return Student(student_id, student_id, "en", "Europe/Oslo", (
        Guardian("Grandma " + student_id, PHONES[student_id], "grandmother", "call", "en",
                 "Europe/Oslo", None, False),))


@asynccontextmanager
async def scripted_desk(tmp_path: Path, engine: AsyncEngine | None = None, *,
                        waits: Waits = FAST,
                        channels: dict[ChannelName, Channel] | None = None,
                        ) -> AsyncIterator[Desk]:
    """A `Desk` over SQLite in `tmp_path` (or the given engine), disposed afterwards.

    `channels` replace the fakes by name (e.g. a real Twilio voice channel).
    """
    own = engine is None
    if engine is None:
        engine = make_engine(str(tmp_path / "desk.db"))
        await upgrade(engine)
    await DirectoryStore(engine).save(grandparent(s) for s in sorted(PHONES))
    calls, chat, sms = Phones(), FakeChannel("chat"), FakeChannel("sms")
    outcomes = ListOutcomeSink()
    live = LiveDesk(engine, SimClock(T0), LiveOptions(
        channels={"chat": chat, "call": calls, "sms": sms, **(channels or {})},
        live=RuntimeConfig(waits, close_wait_s=5), sink=outcomes))
    try:
        yield Desk(live, engine, UserStore(engine, live.clock), calls, chat, sms, outcomes)
    finally:
        await live.runtime.aclose()
        if own:
            await engine.dispose()
