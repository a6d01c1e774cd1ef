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
            if isinstance(record, Incident) and record.state != "update":  # fewer writes
                with suppress(CaseIdTaken):  # a flapping that began with a disconnect
                    await store.record_incident(record, {})
            await desk.apply(record)
        pending.clear()


def day_config(day: int, classrooms: int, *, bad: bool) -> SimConfig:
    """Day `day` of the week (0-based); `bad` plants the bad release and the bad edge."""
    injected = Injected(bad_app_version=BAD_RELEASE, bad_edge=BAD_EDGE) if bad else Injected()
    return SimConfig(seed=100 + day, classrooms=classrooms, start_ms=WEEK_START + day * DAY_MS,
                     injected=injected)


async def replay_weeks(engine: AsyncEngine, days: int, classrooms: int) -> None:
    """A quiet previous week, then a week with the bad release and the bad edge."""
    for day in range(days):
        await replay_day(engine, day_config(day - 7, classrooms, bad=False))
        await replay_day(engine, day_config(day, classrooms, bad=True))
