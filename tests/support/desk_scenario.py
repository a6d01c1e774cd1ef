"""A small scripted school for the desk, API and browser tests.

Three students in two lessons. `stu-1` (room-a, pc on edge-1) starts to lag at
20 s and keeps lagging; the in-app chat does not help, so at ~66 s the case
goes to the call queue. `stu-2` (room-b, ipad on edge-2) drops out at 120 s;
the call fails, so at ~140 s a disconnect case joins the queue above the lag
(its head start is larger) until the lag passes its service level (120 s).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.desk.live import LiveDesk, LiveOptions, SimClock
from outreach.channels.base import OutboundMessage, SendResult
from outreach.decide.decision import ChannelName
from outreach.store.db import make_engine, upgrade
from outreach.store.users import UserStore

T0 = 1_767_258_000_000  # 2026-01-01 09:00 UTC
LESSON_END = T0 + 40 * 60_000
SESSIONS = {
    "s1": ("stu-1", "room-a", "pc", "edge-1", "fjordnet", "oslo"),
    "s2": ("stu-2", "room-b", "ipad", "edge-2", "kystlink", "bergen"),
    "s3": ("stu-3", "room-a", "pc", "edge-1", "fjordnet", "oslo"),
}
LAG_FROM_S = 20
S2_SILENT_FROM_S = 120


def raw(event: dict[str, object]) -> bytes:
    """One telemetry record as the client sends it."""
    return orjson.dumps({"v": 1, **event})


def join(sid: str, ts: int) -> bytes:
    """A join with device, app, line and lesson."""
    student, room, device, edge, isp, region = SESSIONS[sid]
    return raw({"type": "join", "ts": ts, "session_id": sid, "student_id": student,
                "classroom_id": room,
                "client": {"app_version": "5.2.0" if device == "ipad" else "5.1.3", "os": "win",
                           "device": device},
                "network": {"conn": "wifi", "isp": isp, "region": region, "edge": edge},
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


def batch_at(second: int) -> list[bytes]:
    """Everything the three clients send at `second` after T0."""
    ts = T0 + second * 1000
    if second == 0:
        return [join(sid, ts) for sid in SESSIONS]
    if second % 2:
        return []
    out = [stats("s1", ts, second >= LAG_FROM_S), stats("s3", ts, False)]
    if second < S2_SILENT_FROM_S:
        out.append(stats("s2", ts, False))
    return out


@dataclass
class Phones:
    """A phone provider fake: the families in `unreachable` do not answer, others do."""

    unreachable: frozenset[str] = frozenset({"stu-2"})
    name: ChannelName = "call"

    def __post_init__(self) -> None:
        self.sent: list[OutboundMessage] = []

    async def send(self, message: OutboundMessage) -> SendResult:
        """Record the call; no answer from an unreachable family."""
        self.sent.append(message)
        if message.student_id in self.unreachable:
            return SendResult("failed", reason="no-answer")
        return SendResult("queued", provider_id=f"CA{len(self.sent):032d}")


@dataclass
class Desk:
    """A live desk on a fresh database, with users and phones (stu-2 does not answer)."""

    live: LiveDesk
    engine: AsyncEngine
    users: UserStore
    calls: Phones
    second: int = -1

    async def run_to(self, second: int) -> None:
        """Play the school up to `second` after T0 (time moves with the stream)."""
        for s in range(self.second + 1, second + 1):
            await self.live.feed(batch_at(s))
            await self.live.advance(T0 + s * 1000)
        self.second = max(self.second, second)


async def phone_of(student_id: str) -> tuple[str, str | None, str]:
    """The demo directory: every family has a grandparent with a phone."""
    return ("Grandma " + student_id, "+4791234567", "en")


@asynccontextmanager
async def scripted_desk(tmp_path: Path, engine: AsyncEngine | None = None) -> AsyncIterator[Desk]:
    """A `Desk` over SQLite in `tmp_path` (or the given engine), disposed afterwards."""
    own = engine is None
    if engine is None:
        engine = make_engine(str(tmp_path / "desk.db"))
        await upgrade(engine)
    calls = Phones()
    live = LiveDesk(engine, SimClock(T0),
                    LiveOptions(call_channel=calls, phone_of=phone_of))
    try:
        yield Desk(live, engine, UserStore(engine, live.clock), calls)
    finally:
        if own:
            await engine.dispose()
