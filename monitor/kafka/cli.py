"""`firstcall worker` and `firstcall correlator`: flags, wiring, probes and signals."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from collections.abc import Callable
from functools import partial

from aiokafka.errors import KafkaError

from detectors.config import DetectionConfig
from monitor.http_probe import ProbeServer
from monitor.kafka.backoff import retry_forever
from monitor.kafka.correlator import CorrelatorWorker
from monitor.kafka.detect import DetectProcessor
from monitor.kafka.protocols import NullProcessor, PartitionProcessor
from monitor.kafka.settings import KafkaSettings, Topics
from monitor.kafka.topics import ensure_topics, topic_specs
from monitor.kafka.verdicts import VerdictBoard, follow_verdicts
from monitor.kafka.worker import TelemetryWorker
from monitor.logging import configure, get_logger
from monitor.metrics import Metrics


def _common(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    parser.add_argument(
        "--bootstrap",
        default=env("FIRSTCALL_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        help="Kafka bootstrap servers (env FIRSTCALL_KAFKA_BOOTSTRAP)",
    )
    parser.add_argument(
        "--topic-prefix",
        default=env("FIRSTCALL_TOPIC_PREFIX", ""),
        help="prefix for every topic name (env FIRSTCALL_TOPIC_PREFIX)",
    )
    parser.add_argument(
        "--partitions",
        type=int,
        default=int(env("FIRSTCALL_PARTITIONS", "4")),
        help="partitions of class.telemetry (and of the state topic)",
    )
    parser.add_argument(
        "--findings-partitions",
        type=int,
        default=int(env("FIRSTCALL_FINDINGS_PARTITIONS", "4")),
        help="partitions of the internal re-keyed findings topic",
    )
    parser.add_argument(
        "--clock",
        choices=("wall", "event"),
        default=env("FIRSTCALL_CLOCK", "wall"),
        help="wall: live (silence by the wall clock); event: replay speed, deterministic",
    )
    parser.add_argument(
        "--probe-host", default=env("FIRSTCALL_PROBE_HOST", "0.0.0.0"), help="probe bind address"
    )
    parser.add_argument(
        "--probe-port",
        type=int,
        default=int(env("FIRSTCALL_PROBE_PORT", "0")),
        help="port of /metrics, /healthz, /readyz (0: pick a free one; -1: none)",
    )
    parser.add_argument(
        "--no-create-topics", action="store_true", help="do not create missing topics"
    )
    parser.add_argument("--log-level", default=env("FIRSTCALL_LOG_LEVEL", "INFO"))


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `firstcall worker`."""
    _common(parser)
    parser.add_argument(
        "--group", default=os.environ.get("FIRSTCALL_WORKER_GROUP", "firstcall-worker")
    )
    parser.add_argument("--max-batch", type=int, default=5000, help="records per getmany")
    parser.add_argument("--lateness-ms", type=int, default=5000, help="live clock lateness")
    parser.add_argument(
        "--processor",
        choices=("detect", "null"),
        default="detect",
        help="null: decode only (throughput baseline)",
    )


def add_correlator_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `firstcall correlator`."""
    _common(parser)
    parser.add_argument(
        "--group",
        default=os.environ.get("FIRSTCALL_CORRELATOR_GROUP", "firstcall-correlator"),
    )


def settings_from(args: argparse.Namespace, group_field: str) -> KafkaSettings:
    """KafkaSettings from parsed flags."""
    extra = {group_field: args.group}
    if hasattr(args, "max_batch"):
        extra["max_batch"] = args.max_batch
    return KafkaSettings(
        bootstrap=args.bootstrap,
        topics=Topics.from_env(args.topic_prefix),
        telemetry_partitions=args.partitions,
        findings_partitions=args.findings_partitions,
        clock=args.clock,
        **extra,
    )


async def _prepare(args: argparse.Namespace, s: KafkaSettings) -> None:
    configure(args.log_level)
    if args.no_create_topics:
        return
    log = get_logger("topics")
    await retry_forever(
        partial(ensure_topics, s.bootstrap, topic_specs(s)),
        retry_on=(KafkaError, OSError, TimeoutError),
        on_error=lambda exc, n, d: log.warning(
            "create_topics_failed", error=repr(exc), attempt=n, retry_in_s=round(d, 2)
        ),
    )


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


async def _serve(
    args: argparse.Namespace, metrics: Metrics, ready: Callable[[], bool]
) -> ProbeServer | None:
    if args.probe_port < 0:
        return None
    probe = ProbeServer(metrics.registry, ready, host=args.probe_host, port=args.probe_port)
    await probe.start()
    get_logger("probe").info("probe_listening", host=probe.host, port=probe.port)
    return probe


def build_worker(
    s: KafkaSettings,
    metrics: Metrics,
    processor: str = "detect",
    lateness_ms: int = 5000,
    detection: DetectionConfig | None = None,
) -> TelemetryWorker:
    """A telemetry worker with its verdict feed (for the outreach hold-off)."""
    board = VerdictBoard()
    stop_feed = asyncio.Event()

    def factory(p: int) -> PartitionProcessor:
        if processor == "null":
            return NullProcessor(p)
        return DetectProcessor(p, s, board, metrics, detection)

    async def feed() -> None:
        try:
            await follow_verdicts(s.bootstrap, s.topics.verdicts, board, stop_feed)
        finally:
            stop_feed.set()

    background = [feed] if processor == "detect" else []
    return TelemetryWorker(s, factory, metrics, lateness_ms=lateness_ms, background=background)


async def _run_worker(args: argparse.Namespace) -> int:
    s = settings_from(args, "worker_group")
    await _prepare(args, s)
    metrics = Metrics.create()
    worker = build_worker(s, metrics, args.processor, args.lateness_ms)
    probe = await _serve(args, metrics, lambda: worker.ready)
    stop = asyncio.Event()
    _stop_on_signals(stop)
    try:
        await worker.run(stop)
    finally:
        if probe is not None:
            await probe.stop()
    return 0


async def _run_correlator(args: argparse.Namespace) -> int:
    s = settings_from(args, "correlator_group")
    await _prepare(args, s)
    metrics = Metrics.create()
    corr = CorrelatorWorker(s, metrics)
    probe = await _serve(args, metrics, lambda: corr.ready)
    stop = asyncio.Event()
    _stop_on_signals(stop)
    try:
        await corr.run(stop)
    finally:
        if probe is not None:
            await probe.stop()
    return 0


def run_worker(args: argparse.Namespace) -> int:
    """Run `firstcall worker` until SIGTERM/SIGINT."""
    return asyncio.run(_run_worker(args))


def run_correlator(args: argparse.Namespace) -> int:
    """Run `firstcall correlator` until SIGTERM/SIGINT."""
    return asyncio.run(_run_correlator(args))


def main(argv: list[str] | None = None) -> int:
    """`python -m monitor.kafka worker|correlator ...` (until wired into `firstcall`)."""
    parser = argparse.ArgumentParser(prog="python -m monitor.kafka")
    sub = parser.add_subparsers(dest="command", required=True)
    add_worker_arguments(sub.add_parser("worker", help="telemetry worker"))
    add_correlator_arguments(sub.add_parser("correlator", help="line correlator"))
    args = parser.parse_args(argv)
    if args.command == "worker":
        return run_worker(args)
    return run_correlator(args)
