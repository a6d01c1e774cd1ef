"""An edge outage in a small school, for the desk, API and browser tests.

`per_isp` students of each of three ISPs in Oslo (fjordnet, kystlink, nordfiber) sit in
three classrooms on the edge `sfu-oslo`; two more students are on `sfu-bergen`. At
`DOWN_FROM_S` every session on `sfu-oslo` goes silent (the edge is down); at `UP_FROM_S`
they all send stats again. The production detectors, policy and case runtime run with
fake channels (the chat is acknowledged where the app is open: nobody's, while the edge
is down), so the scenario plays the same every time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.desk.live import LiveDesk, LiveOptions, SimClock
from monitor.streaming.bus_feed import ListOutcomeSink
from outreach.contact.chain import Waits
from outreach.contact.runtime import RuntimeConfig
from outreach.decide.decision import PolicyConfig
from outreach.decide.family import Guardian, Student
from outreach.store.db import make_engine, upgrade
from outreach.store.directory import DirectoryStore
from outreach.store.users import UserStore
from tests.support.channel_fakes import FakeChannel
from tests.support.line_fakes import ChatWhereOpen

T0 = 1_767_258_000_000  # 2026-01-01 09:00 UTC (10:00 in Oslo: no family's quiet hours)
LESSON_END = T0 + 40 * 60_000
DOWN_FROM_S = 60
UP_FROM_S = 150
ISPS = ("fjordnet", "kystlink", "nordfiber")
ROOMS = ("room-a", "room-b", "room-c")
SORRY = "Your class works again. Sorry for the interruption!"
FAST = Waits(chat_s=0.02, call_s=0.02, sms_s=0.02)


@dataclass(frozen=True, slots=True)
class Seat:
    """One student's session and line."""

    session_id: str
    student_id: str
    room: str
    edge: str
    isp: str


def seats(per_isp: int) -> list[Seat]:
    """`per_isp` students of each ISP on sfu-oslo, and two on sfu-bergen."""
    out = []
    for i, isp in enumerate(ISPS):
        for j in range(per_isp):
            n = i * per_isp + j
            out.append(Seat(f"s{n}", f"stu-{n}", ROOMS[n % 3], "sfu-oslo", isp))
    out += [Seat("b1", "stu-b1", "room-a", "sfu-bergen", "fjordnet"),
            Seat("b2", "stu-b2", "room-b", "sfu-bergen", "kystlink")]
    return out


def raw(event: dict[str, object]) -> bytes:
    return orjson.dumps({"v": 1, **event})


def batch_at(second: int, school: list[Seat]) -> list[bytes]:
    """Everything the clients send at `second` after T0."""
    ts = T0 + second * 1000
    if second == 0:
        return [raw({"type": "join", "ts": ts, "session_id": s.session_id,
                     "student_id": s.student_id, "classroom_id": s.room,
                     "client": {"app_version": "5.1.3", "os": "win", "device": "pc"},
                     "network": {"conn": "wifi", "isp": s.isp, "region": "oslo",
                                 "edge": s.edge},
                     "lesson": {"scheduled_start": T0, "scheduled_end": LESSON_END,
                                "teacher_id": "ms-berg"}}) for s in school]
    if second % 2:
        return []
    down = DOWN_FROM_S <= second < UP_FROM_S
    return [raw({"type": "stats", "ts": ts, "session_id": s.session_id,
                 "student_id": s.student_id, "classroom_id": s.room, "interval_ms": 2000,
                 "rtt_ms": 60.0, "loss_pct": 0.2, "fps": 25.0, "freeze_ms": 0,
                 "jitter_ms": 4.0, "recv_kbps": 900.0, "audio_stall_ms": 0})
            for s in school if not (down and s.edge == "sfu-oslo")]


@dataclass
class OutageDesk:
    """The live desk and runtime over a fresh database, with users and fake channels."""

    live: LiveDesk
    engine: AsyncEngine
    users: UserStore
    chat: ChatWhereOpen
    sms: FakeChannel
    call: FakeChannel
    outcomes: ListOutcomeSink
    school: list[Seat]
    second: int = -1

    async def run_to(self, second: int) -> None:
        """Play the school up to `second` after T0, letting the contact chains finish."""
        for s in range(self.second + 1, second + 1):
            await self.live.feed(batch_at(s, self.school))
            await self.live.advance(T0 + s * 1000)
            await self.live.runtime.drain()
        self.second = max(self.second, second)


def family(student_id: str) -> Student:
    """A family with a mother on the phone (English, Oslo)."""
    phone = "+4790000" + student_id.rsplit("-", 1)[-1].rjust(3, "0").replace("b", "9")
    return Student(student_id, student_id, "en", "Europe/Oslo", (
        Guardian("Mum of " + student_id, phone, "mother", "call", "en", "Europe/Oslo", None,
                 False),))


@asynccontextmanager
async def outage_desk(tmp_path: Path, *, per_isp: int = 3) -> AsyncIterator[OutageDesk]:
    """An `OutageDesk` over SQLite in `tmp_path`, disposed afterwards."""
    engine = make_engine(str(tmp_path / "outage.db"))
    await upgrade(engine)
    school = seats(per_isp)
    await DirectoryStore(engine).save(family(s.student_id) for s in school)
    chat, sms, call = ChatWhereOpen(), FakeChannel("sms"), FakeChannel("call")
    outcomes = ListOutcomeSink()
    live = LiveDesk(engine, SimClock(T0), LiveOptions(
        policy=PolicyConfig(all_clear_text=SORRY),
        channels={"chat": chat, "call": call, "sms": sms},  # type: ignore[dict-item]
        live=RuntimeConfig(FAST, close_wait_s=5), sink=outcomes))
    try:
        yield OutageDesk(live, engine, UserStore(engine, live.clock), chat, sms, call, outcomes,
                         school)
    finally:
        await live.runtime.aclose()
        await engine.dispose()
