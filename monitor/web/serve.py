"""`firstcall serve`: the support desk (API, agent console, ops dashboard, reports) in production.

Cases and users live in the case database (`--db`). With `--bootstrap`, the desk
follows Kafka: incident and outreach records from `support.incidents` (consumer
group `firstcall-desk`, committed after they are applied) and, for the agents'
charts, the newest telemetry from `class.telemetry` (its own group, from the end).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal

import structlog
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.records import decode_record
from monitor.web.app import create_app
from monitor.web.desk import Desk
from monitor.web.ring import TelemetryRing
from monitor.web.users import UserStore
from outreach.cases.db import DEFAULT_DSN, open_database
from outreach.cases.store import CaseStore
from outreach.clock import now_ms
from outreach.desk_models import ensure_desk_tables
from outreach.queue import DEFAULT_SLA_MS
from outreach.queue_db import QueueStore

log = structlog.get_logger(__name__)
DB_ENV = "FIRSTCALL_DB"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `firstcall serve`."""
    p.add_argument("--db", default=os.environ.get(DB_ENV, DEFAULT_DSN),
                   help=f"database DSN or SQLite path (default: ${DB_ENV} or {DEFAULT_DSN})")
    p.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="listen port (default 8080)")
    p.add_argument("--sla-s", type=int, default=DEFAULT_SLA_MS // 1000,
                   help="service level: answer a queued case within this many seconds")
    p.add_argument("--escalate-after-s", type=int, default=30,
                   help="queue a case whose problem outlives the contact by this long")
    p.add_argument("--bootstrap", default=os.environ.get("FIRSTCALL_KAFKA_BOOTSTRAP"),
                   help="Kafka bootstrap servers; follow support.incidents and class.telemetry")
    p.add_argument("--log-level", default="INFO")


async def follow_kafka(desk: Desk, ring: TelemetryRing, bootstrap: str) -> None:
    """Apply incident/outreach records to the desk and feed the ring, until cancelled."""
    from aiokafka import AIOKafkaConsumer

    from monitor.kafka.settings import Topics

    topics = Topics.from_env()
    records = AIOKafkaConsumer(topics.incidents, bootstrap_servers=bootstrap,
                               group_id="firstcall-desk", enable_auto_commit=False,
                               auto_offset_reset="earliest")
    telemetry = AIOKafkaConsumer(topics.telemetry, bootstrap_servers=bootstrap,
                                 group_id="firstcall-desk-charts", auto_offset_reset="latest")
    await records.start()
    await telemetry.start()

    async def charts() -> None:
        while True:
            got = await telemetry.getmany(timeout_ms=500, max_records=5000)
            ring.feed_raw(m.value for batch in got.values() for m in batch)

    chart_task = asyncio.create_task(charts())
    try:
        while True:
            got = await records.getmany(timeout_ms=1000, max_records=500)
            for batch in got.values():
                for m in batch:
                    try:
                        await desk.apply(decode_record(m.value))
                    except Exception:
                        log.exception("desk_apply_failed", offset=m.offset)
            await desk.tick()
            if got:
                await records.commit()
    finally:
        chart_task.cancel()
        await records.stop()
        await telemetry.stop()


async def tick_forever(desk: Desk, every_s: float = 1.0) -> None:
    """Escalations and recovered-case closing on the wall clock."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await desk.tick()
        except Exception:
            log.exception("desk_tick_failed")


async def build(args: argparse.Namespace) -> tuple[AsyncEngine, Desk, TelemetryRing]:
    """Open the database and assemble the desk on the wall clock."""
    engine = await open_database(args.db)
    await ensure_desk_tables(engine)
    store = CaseStore(engine, now_ms)
    ring = TelemetryRing()
    desk = Desk(store, QueueStore(engine, store, now_ms), ring, now_ms,
                escalate_after_ms=args.escalate_after_s * 1000)
    return engine, desk, ring


async def serve(args: argparse.Namespace) -> None:
    """Serve until SIGTERM/SIGINT."""
    engine, desk, ring = await build(args)
    app = create_app(desk, UserStore(engine), sla_ms=args.sla_s * 1000)
    server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port,
                                           log_level="warning", lifespan="on"))
    background = [asyncio.create_task(
        follow_kafka(desk, ring, args.bootstrap) if args.bootstrap else tick_forever(desk))]
    log.info("desk_serving", url=f"http://{args.host}:{args.port}/", kafka=bool(args.bootstrap))
    try:
        await server.serve()
    finally:
        for t in background:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        await engine.dispose()


def run(args: argparse.Namespace) -> int:
    """Run `firstcall serve`."""
    from monitor.logging import configure

    configure(args.log_level)
    with contextlib.suppress(KeyboardInterrupt):
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        asyncio.run(serve(args))
    return 0
