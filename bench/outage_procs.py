"""The outage phase's processes, their memory, its case database and the school's clock."""

from __future__ import annotations

import bisect
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.kafka_probe import cpu_seconds, machine_jiffies, rss_mb
from bench.outage_school import phone_of
from bench.procs import stop_process
from outreach.store.db import make_engine, upgrade
from outreach.store.directory import DirectoryStore
from outreach.store.directory_import import import_file

GROWTH_FLAG = 1.2  # #20: memory back within 20 % of its pre-outage size


@dataclass
class Job:
    """One process of the run, with its log file and RSS samples."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    rss: list[tuple[float, int]] = field(default_factory=list)
    marks: dict[str, int] = field(default_factory=dict)  # "before", "after": RSS at a moment
    cpu: list[tuple[float, float]] = field(default_factory=list)  # (monotonic s, CPU s used)
    cpu_marks: dict[str, float] = field(default_factory=dict)  # CPU s used at a moment

    def mark(self, name: str) -> None:
        """Keep this moment's RSS and CPU time under `name` (and as a sample)."""
        now, mb = time.monotonic(), rss_mb(self.proc.pid)
        if mb is not None:
            self.marks[name] = mb
            self.rss.append((now, mb))
        if self.proc.poll() is None:
            self.cpu_marks[name] = cpu_seconds(self.proc.pid)
            self.cpu.append((now, self.cpu_marks[name]))

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        stop_process(self.proc)

    def summary(self) -> dict[str, Any]:
        """Before the outage / peak / 5 min after, and after / before (flagged > 1.2)."""
        if not self.rss:
            return {}
        values = [mb for _, mb in self.rss]
        before = self.marks.get("before", values[0])
        after = self.marks.get("after")
        ratio = round(after / before, 2) if after is not None and before else None
        return {"before": before, "peak": max(values), "after": after,
                "end": values[-1], "ratio": ratio,
                "flag": ratio is not None and ratio > GROWTH_FLAG, **self.cpu_summary()}

    def cpu_summary(self) -> dict[str, Any]:
        """CPU seconds from the outage to after it, and the busiest window's share of a core."""
        used = None
        if "before" in self.cpu_marks and "after" in self.cpu_marks:
            used = round(self.cpu_marks["after"] - self.cpu_marks["before"], 1)
        return {"cpu_s": used, "cpu_peak_share": busiest(self.cpu)}


def busiest(samples: list[tuple[float, float]], window_s: float = 10.0) -> float | None:
    """The largest rate of a growing counter over about `window_s` of (time, counter)
    samples (for CPU seconds: the share of one core), or None with too few samples."""
    rates = [(v - v0) / (t - t0) for (t0, v0), (t, v) in _windows(samples, window_s)]
    return round(max(rates), 2) if rates else None


def _windows(samples: list[tuple[float, Any]], window_s: float
             ) -> list[tuple[tuple[float, Any], tuple[float, Any]]]:  # fmt: skip
    """(first, last) sample pairs spanning between half of `window_s` and `window_s`."""
    pairs = []
    j = 0
    for t, v in samples:
        while t - samples[j][0] > window_s:
            j += 1
        if t - samples[j][0] >= window_s / 2:
            pairs.append((samples[j], (t, v)))
    return pairs


@dataclass
class MachineLoad:
    """The whole machine's busy CPU, sampled along the run (Linux /proc/stat)."""

    samples: list[tuple[float, tuple[int, int]]] = field(default_factory=list)

    def sample(self) -> None:
        """One sample now: (busy, total) ticks of all the cores."""
        busy, _steal, total = machine_jiffies()
        self.samples.append((time.monotonic(), (busy, total)))

    def summary(self) -> dict[str, Any]:
        """The busiest 10 s's and the whole run's share of all the cores (1.0: all busy)."""
        shares = [(b1 - b0) / (n1 - n0) for (_, (b0, n0)), (_, (b1, n1))
                  in _windows(self.samples, 10.0) if n1 > n0]  # fmt: skip
        if not shares:
            return {}
        (b0, n0), (b1, n1) = self.samples[0][1], self.samples[-1][1]
        return {"busiest_10s": round(max(shares), 2),
                "mean": round((b1 - b0) / (n1 - n0), 2) if n1 > n0 else None}


def spawn(name: str, args: list[str], tmp: Path, env: dict[str, str]) -> Job:
    """Start `firstcall ARGS` as a process logging to TMP/NAME.log."""
    log = tmp / f"{name}.log"
    proc = subprocess.Popen([sys.executable, "-m", "monitor.cli", *args],
                            stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)  # fmt: skip
    return Job(name, proc, log)


def sample_rss(jobs: list[Job], machine: MachineLoad | None = None) -> None:
    """One RSS and CPU-time sample of every process (and of the machine's load)."""
    now = time.monotonic()
    for job in jobs:
        mb = rss_mb(job.proc.pid)
        if mb is not None:
            job.rss.append((now, mb))
        if job.proc.poll() is None:
            job.cpu.append((now, cpu_seconds(job.proc.pid)))
    if machine is not None:
        machine.sample()


@dataclass
class SchoolClock:
    """The school's event time at a wall moment: what the sender had reached, at its pace.

    The sender notes (wall ms, newest event ms sent) as it goes; between two notes and
    after the last the school's time runs at `speed` x the wall clock (0: it stands at the
    last note). Its resolution is about one stats step (events of one step carry times up
    to 2 s apart and are sent together).
    """

    speed: float
    walls: list[int] = field(default_factory=list)
    events: list[int] = field(default_factory=list)

    def note(self, wall_ms: int, event_ms: int) -> None:
        """The sender has sent the school up to `event_ms` at `wall_ms`."""
        if not self.events or event_ms >= self.events[-1]:
            self.walls.append(wall_ms)
            self.events.append(event_ms)

    def event_at(self, wall_ms: int) -> int | None:
        """The school's event time at `wall_ms` (None before the first note)."""
        i = bisect.bisect_right(self.walls, wall_ms) - 1
        if i < 0:
            return None
        return self.events[i] + int((wall_ms - self.walls[i]) * self.speed)


async def make_directory(dsn: str, students: list[str], tmp: Path) -> None:
    """Migrate the case database and import one family per student."""
    engine = make_engine(dsn)
    await upgrade(engine)
    rows = ["student_id,student_name,guardian_name,phone,relation,preferred_channel,"
            "language,time_zone,quiet_hours,do_not_call"]  # fmt: skip
    rows += [f"{s},Kid{i},Grandma{i},{phone_of(i)},grandmother,call,zh-CN,UTC,,no"
             for i, s in enumerate(students)]  # fmt: skip
    (tmp / "families.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert (await import_file(tmp / "families.csv", DirectoryStore(engine))).imported
    await engine.dispose()


async def read_all(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """Every JSON record of a topic so far (with its record timestamp as `_ts`)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest")  # fmt: skip
    await consumer.start()
    try:
        await consumer.topics()
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out: list[dict[str, Any]] = []
        while True:
            behind = [tp for tp in tps if await consumer.position(tp) < ends[tp]]
            if not behind:
                break
            for recs in (await consumer.getmany(timeout_ms=500)).values():
                for r in recs:
                    value = orjson.loads(r.value)
                    if isinstance(value, dict):
                        value["_ts"] = r.timestamp
                        out.append(value)
        return out
    finally:
        await consumer.stop()


async def fresh_database(dsn: str) -> tuple[str, Callable[[], Any]]:
    """A new, empty database beside `dsn`'s (PostgreSQL), and a coroutine function dropping it.

    SQLite paths and URLs are used as they are (a new file is empty).
    """
    url = sa.engine.make_url(dsn)
    if not url.get_backend_name().startswith("postgresql"):
        return dsn, _nothing
    import asyncpg  # type: ignore[import-untyped]

    name = f"fc_outage_{uuid.uuid4().hex[:10]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin, timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()

    async def drop() -> None:
        c = await asyncpg.connect(admin, timeout=5)
        try:
            await c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await c.close()

    fresh = url.set(drivername="postgresql+asyncpg", database=name)
    return fresh.render_as_string(hide_password=False), drop


async def _nothing() -> None:
    return None
