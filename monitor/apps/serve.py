"""`firstcall serve`: the support desk (API, agent console, ops dashboard, reports) in production.

Cases and users live in the case database (`--db`). With `--bootstrap`, the desk
follows Kafka: incident and outreach records from `support.incidents` (every
partition, from the start of its retention, so a restarted replica rebuilds its live
views) and, for the agents' charts, the newest telemetry from `class.telemetry` (every
partition, from the end). No consumer group: several replicas each follow the whole
feed; what they write from it is idempotent (the case's first telemetry snapshot once,
its context once). On PostgreSQL, queue changes by any process and the agents online
on every replica reach this replica's consoles through LISTEN/NOTIFY
(`monitor.desk.replicas`); see docs/operations.md, "Two desk replicas".
The cases belong to the case runtime of `firstcall outreach` (opened, contacted,
queued and closed there); this process shows them and carries out the agents'
commands. An agent's call goes through Twilio, and its status callbacks go to the
outreach service's callback app (`[service] public_base_url`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import signal
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import structlog
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from detectors.records import decode_record
from monitor.desk.api_base import DEFAULT_SLA_WARN_MS
from monitor.desk.app import create_app
from monitor.desk.desk import Desk
from monitor.desk.ring import TelemetryRing
from monitor.platform.callback_url import callback_problems
from monitor.platform.kafka_settings import Topics
from monitor.platform.settings import ConfigError, config_path, load_settings, twilio_settings
from monitor.platform.settings_sections import agent_phone_map
from monitor.streaming.backoff import Backoff
from monitor.voc_schedule import WeeklyDigest
from outreach.channels.base import Channel
from outreach.channels.retry import RetryPolicy
from outreach.channels.twilio_client import TwilioSender, TwilioSettings
from outreach.channels.twilio_connect import TwilioCallConnector
from outreach.channels.twilio_voice import TwilioVoiceChannel
from outreach.contact.agent_call import AgentCalls
from outreach.contact.waiting_caller import WaitingCallers
from outreach.decide.clock import now_ms
from outreach.decide.decision import ChannelName
from outreach.decide.queue_rules import DEFAULT_SLA_MS
from outreach.store.cases import CaseStore
from outreach.store.db import PoolSettings, open_database
from outreach.store.directory import DirectoryStore
from outreach.store.queue import QueueStore
from outreach.store.users import UserStore

log = structlog.get_logger(__name__)
CHART_SLICE = 500  # telemetry records fed to the ring between two looks at the requests


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `firstcall serve` (defaults from --config and FIRSTCALL_* settings)."""
    p.add_argument("--config", default=config_path(), help="config file (TOML/JSON, default "
                   "$FIRSTCALL_CONFIG), see docs/configuration.md; sections [api], [database], "
                   "[twilio], [kafka], [topics]")
    p.add_argument("--db", default=None, help="database DSN or SQLite path (default: settings)")
    p.add_argument("--host", default=None, help="listen address (default: settings, 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="listen port (default: settings, 8000)")
    p.add_argument("--sla-s", type=int, default=DEFAULT_SLA_MS // 1000,
                   help="service level: answer a queued case within this many seconds")
    p.add_argument("--bootstrap", default=None,
                   help="Kafka bootstrap servers: follow support.incidents and class.telemetry "
                        "(default: [kafka] bootstrap if configured, e.g. "
                        "FIRSTCALL_KAFKA_BOOTSTRAP, else no Kafka)")
    p.add_argument("--cases", choices=("outreach",), default="outreach",
                   help="who opens, contacts, queues and closes cases: always the case runtime "
                        "of `firstcall outreach` (this desk only shows them); kept for manifests "
                        "that name it")
    p.add_argument("--log-level", default=None)


@dataclass
class FollowState:
    """Whether the desk is following Kafka right now (what /readyz reports)."""

    needed: bool = False
    ready: bool = False


async def follow_kafka_forever(desk: Desk, ring: TelemetryRing, bootstrap: str,
                               state: FollowState, backoff: Backoff | None = None,
                               topics: Topics | None = None) -> None:
    """Follow Kafka; when the broker is away, say so, wait with backoff and follow again."""
    from aiokafka.errors import KafkaError

    b = backoff or Backoff(base=0.5, cap=15.0)
    state.needed = True

    def ready() -> None:
        state.ready = True
        b.reset()
        log.info("desk_following_kafka", bootstrap=bootstrap)

    while True:
        try:
            await follow_kafka(desk, ring, bootstrap, on_ready=ready, topics=topics)
        except (KafkaError, OSError) as exc:
            state.ready = False
            delay = b.next_delay()
            log.warning("desk_kafka_unavailable", bootstrap=bootstrap, error=str(exc),
                        retry_in_s=round(delay, 1))
            await asyncio.sleep(delay)


def readiness_route(state: FollowState) -> Route:
    """/readyz: 200 while the desk follows Kafka (or needs none), 503 while it cannot."""

    async def readyz(_request: Request) -> Response:
        ok = state.ready or not state.needed
        return JSONResponse({"ready": ok, "kafka": state.ready if state.needed else None},
                            status_code=200 if ok else 503)

    return Route("/readyz", readyz)


async def follow_kafka(desk: Desk, ring: TelemetryRing, bootstrap: str,
                       on_ready: Callable[[], None] = lambda: None,
                       topics: Topics | None = None) -> None:
    """Apply incident/outreach records to the desk and feed the ring, until cancelled."""
    from aiokafka import AIOKafkaConsumer

    topics = topics or Topics()
    # No consumer group: every replica reads every partition (its own live views), the
    # records from the start of the topic's retention (the views are rebuilt on start),
    # the telemetry from its end (the charts need only the last minutes).
    records = AIOKafkaConsumer(topics.incidents, bootstrap_servers=bootstrap, group_id=None,
                               enable_auto_commit=False, auto_offset_reset="earliest")
    telemetry = AIOKafkaConsumer(topics.telemetry, bootstrap_servers=bootstrap, group_id=None,
                                 enable_auto_commit=False, auto_offset_reset="latest")
    try:
        await records.start()
        await telemetry.start()
    except BaseException:
        await records.stop()
        await telemetry.stop()
        raise
    on_ready()

    async def charts() -> None:
        while True:
            got = await telemetry.getmany(timeout_ms=500, max_records=5000)
            raws = [m.value for batch in got.values() for m in batch]
            for i in range(0, len(raws), CHART_SLICE):  # requests are answered in between
                ring.feed_raw(raws[i:i + CHART_SLICE])
                await asyncio.sleep(0)

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
    finally:
        chart_task.cancel()
        await records.stop()
        await telemetry.stop()


@dataclass
class Options:
    """What `serve` runs with, after settings and flags."""

    dsn: str
    host: str
    port: int
    bootstrap: str | None
    weekly: WeeklyDigest | None  # the voice-of-the-customer digest, when [digest] weekly_at
    callback_base_url: str  # the outreach service's callback app, for an agent's call
    topics: Topics
    twilio: TwilioSettings | None
    log_level: str
    agent_phones: Mapping[str, str] = dataclasses.field(default_factory=dict)
    sla_warn_ms: int = DEFAULT_SLA_WARN_MS  # amber before the SLA ([api] sla_warn_s)
    db_pool: PoolSettings = dataclasses.field(default_factory=PoolSettings)  # [database]


def options(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Options:
    """Flags over settings (file < environment); Kafka only if a bootstrap is given."""
    st = load_settings(args.config, env)
    api, kafka = st.api, st.kafka
    bootstrap, configured = kafka.bootstrap, "bootstrap" in kafka.model_fields_set
    base = st.service.public_base_url.rstrip("/")
    if problems := callback_problems(st.twilio, base):
        raise ConfigError(problems)  # an agent's call through live Twilio must be followed
    return Options(
        dsn=args.db or st.database.dsn, db_pool=st.database.pool(),
        host=args.host or api.host,
        port=args.port if args.port is not None else api.port,
        weekly=WeeklyDigest.from_settings(st.digest),
        bootstrap=args.bootstrap or (bootstrap if configured else None),
        callback_base_url=base,
        topics=Topics.from_section(st.topics, kafka.topic_prefix),
        twilio=twilio_settings(st.twilio, base or None),
        log_level=args.log_level or st.logging.level,
        agent_phones=agent_phone_map(st.twilio.agent_phones),
        sla_warn_ms=api.sla_warn_s * 1000,
    )


async def build(opts: Options) -> tuple[
        AsyncEngine, Desk, TelemetryRing, list[TwilioVoiceChannel | TwilioCallConnector]]:
    """Open the database and assemble the desk on the wall clock (agents' calls if configured)."""
    engine = await open_database(opts.dsn, pool=opts.db_pool)
    store = CaseStore(engine, now_ms)
    ring = TelemetryRing()
    queue = QueueStore(engine, store, now_ms)
    channels: dict[ChannelName, Channel] = {}
    voices: list[TwilioVoiceChannel | TwilioCallConnector] = []
    connector = None
    if opts.twilio is not None:
        channels["call"] = voice = TwilioVoiceChannel(opts.twilio)
        # Put through while the agent's claim waits: a short retry budget.
        quick = TwilioSender(opts.twilio, policy=RetryPolicy(max_attempts=2, budget_s=3.0),
                             retry_unknown=False)  # fmt: skip
        connector = TwilioCallConnector(opts.twilio, quick)
        voices += [voice, connector]
        if not opts.callback_base_url:
            log.warning("agent_call_callbacks_off",
                        reason="no [service] public_base_url: an agent's call is not followed")
    calls = AgentCalls(store, DirectoryStore(engine), channels, queue.device,
                       conn_of=queue.conn)
    waiting = WaitingCallers(store, DirectoryStore(engine), connector, opts.agent_phones)
    desk = Desk(store, queue, ring, now_ms, calls=calls, waiting=waiting)
    return engine, desk, ring, voices


async def serve(args: argparse.Namespace, opts: Options) -> None:
    """Serve until SIGTERM/SIGINT."""
    engine, desk, ring, voices = await build(opts)
    follow = FollowState()
    app = create_app(desk, UserStore(engine), sla_ms=args.sla_s * 1000,
                     extra_routes=[readiness_route(follow)], sla_warn_ms=opts.sla_warn_ms)
    server = uvicorn.Server(uvicorn.Config(app, host=opts.host, port=opts.port,
                                           log_level="warning", lifespan="on"))
    background = [asyncio.create_task(
        follow_kafka_forever(desk, ring, opts.bootstrap, follow, topics=opts.topics))
    ] if opts.bootstrap else []
    if opts.weekly is not None:
        background.append(asyncio.create_task(opts.weekly.run(engine, now_ms)))
    log.info("desk_serving", url=f"http://{opts.host}:{opts.port}/", kafka=bool(opts.bootstrap),
             twilio=opts.twilio is not None)
    try:
        await server.serve()
    finally:
        for t in background:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        for voice in voices:
            with contextlib.suppress(Exception):
                await voice.aclose()
        await engine.dispose()


def run(args: argparse.Namespace) -> int:
    """Run `firstcall serve`."""
    from monitor.platform.logging import configure

    try:
        opts = options(args)
    except ConfigError as exc:
        print(f"firstcall serve: {exc}", file=sys.stderr)
        return 2
    configure(opts.log_level)
    with contextlib.suppress(KeyboardInterrupt):  # SIGTERM ends it like Ctrl-C: exit 0
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        asyncio.run(serve(args, opts))
    return 0
