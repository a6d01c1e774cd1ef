"""`firstcall collect`: the telemetry collector, browsers' way into `class.telemetry`.

HTTP `POST /v1/events` and websocket `/v1/stream` (monitor/collect/app.py), each event
checked against telemetry v1 and the session token, produced with acks=all keyed by
session_id, answered 202 once the broker acknowledged it (docs/collector.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn

from monitor.collect.app import CollectConfig, Collector, create_app
from monitor.collect.metrics import CollectMetrics
from monitor.collect.sink import Producer, Sink
from monitor.platform.job_config import add_config_arguments, pick, print_problems, settings_of
from monitor.platform.kafka_settings import Topics
from monitor.platform.logging import configure, get_logger
from monitor.platform.settings import ConfigError, Problem, Settings

log = get_logger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `firstcall collect` (each defaults to its setting)."""
    add_config_arguments(parser)
    parser.add_argument("--host", help="listen address ([collect] host)")
    parser.add_argument("--port", type=int, help="listen port ([collect] port)")
    parser.add_argument("--bootstrap", help="Kafka bootstrap servers ([kafka] bootstrap)")
    parser.add_argument("--log-level", help="debug, info, warning or error ([logging] level)")


@dataclass(frozen=True)
class Options:
    """What the collector runs with, after settings and flags."""

    host: str
    port: int
    bootstrap: str
    idempotent: bool
    buffer_events: int
    config: CollectConfig
    log_level: str


def options(args: argparse.Namespace, st: Settings) -> Options:
    """Flags over settings; a collector without a token secret does not start."""
    c = st.collect
    secret = c.secret.get_secret_value()
    if not secret:
        raise ConfigError([Problem("collect.secret", "required: the HMAC secret of session "
                                   "tokens (FIRSTCALL_COLLECT_SECRET)")])
    topics = Topics.from_section(st.topics, st.kafka.topic_prefix)
    origins = tuple(o.strip() for o in c.allowed_origins.split(",") if o.strip())
    return Options(
        host=pick(args.host, c.host), port=pick(args.port, c.port),
        bootstrap=pick(args.bootstrap, st.kafka.bootstrap), idempotent=c.idempotent,
        buffer_events=c.buffer_events, log_level=pick(args.log_level, st.logging.level),
        config=CollectConfig(
            secret=secret.encode(), topic=topics.telemetry, dlq_topic=topics.dlq,
            token_max_ttl_s=c.token_max_ttl_s, allowed_origins=origins,
            max_body_bytes=c.max_body_bytes, max_events=c.max_events, rate_per_s=c.rate_per_s,
            burst=c.burst, ack_timeout_s=c.ack_timeout_s, retry_after_s=c.retry_after_s,
            tracked_sessions=c.tracked_sessions),
    )


def kafka_producer(bootstrap: str, idempotent: bool) -> Producer:
    """aiokafka's producer with acks=all (idempotent where the broker supports it), batched."""
    from aiokafka import AIOKafkaProducer

    from monitor.collect.kafka_batches import BatchedProducer

    return BatchedProducer(AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=idempotent,
        linger_ms=2, request_timeout_ms=5000, client_id="firstcall-collect"))


async def serve(opts: Options, ready: asyncio.Event | None = None) -> None:
    """Run the collector until cancelled (SIGTERM/SIGINT): drain what is buffered, stop."""
    metrics = CollectMetrics.create()
    sink = Sink(kafka_producer(opts.bootstrap, opts.idempotent), opts.buffer_events,
                on_error=lambda _e: metrics.broker_errors.inc())
    collector = Collector(opts.config, sink, time.time, metrics)
    server = uvicorn.Server(uvicorn.Config(
        create_app(collector), host=opts.host, port=opts.port, log_level="warning",
        lifespan="off", ws_max_size=opts.config.max_body_bytes))
    await sink.start()
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.05)
    if server.servers:
        port = server.servers[0].sockets[0].getsockname()[1]
        log.info("collect_serving", url=f"http://{opts.host}:{port}/", bootstrap=opts.bootstrap)
    if ready is not None:
        ready.set()
    try:
        await task
    finally:
        await sink.stop()


def run(args: argparse.Namespace) -> int:
    """Run `firstcall collect`."""
    try:
        opts = options(args, settings_of(args))
    except ConfigError as exc:
        return print_problems(exc)
    configure(opts.log_level)
    with contextlib.suppress(KeyboardInterrupt):
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            runner.run(serve(opts))
    return 0


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (a cheaper loop for the HTTP path)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
