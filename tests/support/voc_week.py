"""A simulated school week (a bad release, a bad edge) replayed into a case database."""

from __future__ import annotations

from contextlib import suppress
from typing import Final

from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident, Record
from monitor.desk.desk import Desk
from monitor.desk.ring import TelemetryRing
from monitor.simulate import Injected, SimConfig, simulate
from monitor.simulate.config import DEFAULT_START_MS
from monitor.streaming.assembly import Pipeline
from outreach.store.cases import CaseIdTaken, CaseStore
from outreach.store.queue import QueueStore

DAY_MS: Final = 86_400_000
BAD_RELEASE: Final = "5.4.0"
BAD_EDGE: Final = "sfu-bergen"
WEEK_START: Final = DEFAULT_START_MS
BATCH: Final = 500


async def replay_day(engine: AsyncEngine, config: SimConfig) -> None:
    """Replay one simulated day: its incidents become cases, the desk stores their context
    (device, release, line, teacher) from the telemetry, as in production."""
    clock = [config.start_ms]
    store = CaseStore(engine, lambda: clock[0])
    desk = Desk(store, QueueStore(engine, store, lambda: clock[0]), TelemetryRing(),
                lambda: clock[0])
    pending: list[Record] = []
    pipe = Pipeline(pending.append)
    raws = list(simulate(config).lines())
    for i in range(0, len(raws), BATCH):
        batch = raws[i:i + BATCH]
        desk.ring.feed_raw(batch)
        pipe.feed_raw(batch)
        pipe.tick(pipe.engine.now)
        if i + BATCH >= len(raws):
            pipe.finish()
        clock[0] = max(clock[0], pipe.engine.now)
        for record in pending:
            # Fewer writes: no session updates (a line update names sessions added: kept).
            if isinstance(record, Incident) and (record.state != "update" or record.kind == "line"):
                with suppress(CaseIdTaken):  # a flapping that began with a disconnect
                    await store.record_incident(record, {})
            await desk.apply(record)
        pending.clear()


def day_config(day: int, classrooms: int, *, bad: bool) -> SimConfig:
    """Day `day` of the week (0-based); `bad` plants the bad release and the bad edge."""
    injected = Injected(bad_app_version=BAD_RELEASE, bad_edge=BAD_EDGE) if bad else Injected()
    return SimConfig(seed=100 + day, classrooms=classrooms, start_ms=WEEK_START + day * DAY_MS,
                     injected=injected)


async def replay_weeks(engine: AsyncEngine, days: int, classrooms: int, quiet: int = 3) -> None:
    """A quiet previous week (a smaller school: `quiet` classrooms a day), then a week with
    the bad release and the bad edge."""
    for day in range(days):
        await replay_day(engine, day_config(day - 7, quiet, bad=False))
        await replay_day(engine, day_config(day, classrooms, bad=True))


T = 1_767_258_000_000  # 2026-01-01 09:00 UTC
MIN = 60_000
EVIL = "=cmd|'/c calc'!A0 <script>alert(1)</script>"


def hour_incident(iid: str, kind: str, start: int, room: str = "room-a") -> Incident:
    """An incident of the seeded hour (ended after 3 minutes)."""
    line = {"edge": "sfu-bergen"} if kind == "line" else {
        "isp": "fjordnet", "region": "bergen", "edge": "sfu-bergen"}
    return Incident(incident_id=iid, kind=kind, state="open", started_at=start,  # type: ignore[arg-type]
                    detected_at=start + 9000, ended_at=start + 3 * MIN, line=line, evidence={},
                    session_id=None if kind == "line" else "s-" + iid,
                    student_id=None if kind == "line" else "stu-" + iid,
                    classroom_id=None if kind == "line" else room,
                    sessions=["s-a", "s-b"] if kind == "line" else None)


async def seed_hour(engine: AsyncEngine) -> None:
    """2026-01-01 09:00-10:00: an outage of sfu-bergen, and lags on releases 5.4.0 and 5.3.2
    (5.4.0's teacher has a name that is a formula and a script)."""
    store = CaseStore(engine, lambda: T + 50 * MIN)
    queue = QueueStore(engine, store, lambda: T + 50 * MIN)
    await store.record_incident(hour_incident("line-x1", "line", T + MIN), {})
    for iid, start, app, teacher in (("disconnect-a1", T + MIN + 2000, "5.3.2", "ms-berg"),
                                     ("lag-b2", T + 20 * MIN, "5.4.0", EVIL),
                                     ("lag-c3", T + 30 * MIN, "5.4.0", EVIL),
                                     ("lag-d4", T + 40 * MIN, "5.3.2", "ms-berg")):
        case = await store.record_incident(hour_incident(iid, iid.split("-")[0], start), {})
        await queue.save_context(case.case_id, {
            "teacher": teacher, "device": "ipad", "os": "iPadOS 17.5", "app_version": app,
            "line": "line:edge=sfu-bergen/isp=fjordnet/region=bergen", "cause": "lag: rtt"})
