"""`firstcall worker` and `firstcall correlator`: flags, wiring, probes and signals."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from aiokafka.errors import KafkaError

from detectors.config import DetectionConfig
from detectors.line_pressure import LinePressure
from monitor.platform.http_probe import ProbeServer
from monitor.platform.job_config import add_config_arguments, pick, print_problems, settings_of
from monitor.platform.kafka_settings import KafkaSettings
from monitor.platform.logging import configure, get_logger
from monitor.platform.metrics import Metrics
from monitor.platform.settings import ConfigError, Settings
from monitor.streaming.backoff import retry_forever
from monitor.streaming.correlator import CorrelatorWorker
from monitor.streaming.detect import DetectProcessor
from monitor.streaming.protocols import NullProcessor, PartitionProcessor
from monitor.streaming.topics import ensure_topics, topic_specs
from monitor.streaming.verdicts import VerdictBoard, follow_verdicts
from monitor.streaming.worker import TelemetryWorker
from outreach.decide.decision import PolicyConfig


class _Job(Protocol):
    @property
    def ready(self) -> bool: ...

    async def run(self, stop: asyncio.Event) -> None: ...


def _common(parser: argparse.ArgumentParser) -> None:
    """Flags both jobs share; each defaults to its setting (file < FIRSTCALL_* env)."""
    add_config_arguments(parser)
    parser.add_argument("--bootstrap", help="Kafka bootstrap servers ([kafka] bootstrap)")
    parser.add_argument(
        "--topic-prefix",
        help="prefix for every topic name ([kafka] topic_prefix); consumer groups are not "
        "prefixed: name them with --group",
    )
    parser.add_argument(
        "--partitions",
        type=int,
        help="partitions of class.telemetry and of the state topic ([kafka] "
        "telemetry_partitions)",
    )
    parser.add_argument(
        "--findings-partitions",
        type=int,
        help="partitions of the internal re-keyed findings topic ([kafka] findings_partitions)",
    )
    parser.add_argument(
        "--clock",
        choices=("wall", "event"),
        help="wall (default): live, silence by the wall clock; event: replay speed, "
        "deterministic ([kafka] clock). Give the workers and the correlator the same clock: "
        "the correlator refuses a mix (exit 2, clock_mismatch)",
    )
    parser.add_argument("--probe-host", help="bind address of the probes ([probe] host)")
    parser.add_argument(
        "--probe-port",
        type=int,
        help="port of /metrics, /healthz, /readyz (0: pick a free one; -1: none) ([probe] port)",
    )
    parser.add_argument(
        "--no-create-topics", action="store_true", help="do not create missing topics"
    )
    parser.add_argument("--log-level", help="debug, info, warning or error ([logging] level)")


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `firstcall worker`."""
    _common(parser)
    parser.add_argument("--group", help="consumer group ([kafka] worker_group)")
    parser.add_argument("--max-batch", type=int, help="records per getmany ([kafka] max_batch)")
    parser.add_argument(
        "--record-path",
        choices=("lean", "stock"),
        help="lean: take aiokafka's decoded records without building ConsumerRecord objects "
        "(faster; falls back to stock if aiokafka differs); stock: plain getmany records "
        "([kafka] record_path)",
    )
    parser.add_argument(
        "--gc-threshold",
        type=int,
        help="young-generation garbage-collection threshold: above a batch's allocations, "
        "so its records die before a collection; 0 keeps Python's 700 ([kafka] gc_threshold)",
    )
    parser.add_argument(
        "--fetch-handoff",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="let aiokafka send the next fetch before a batch is processed, so the broker's "
        "round trip overlaps the work; --no-fetch-handoff fetches after the batch "
        "([kafka] fetch_handoff)",
    )
    parser.add_argument(
        "--lateness-ms",
        type=int,
        help="live clock: how far behind the wall clock silence is judged "
        "([detection] lateness_ms)",
    )
    parser.add_argument(
        "--processor",
        choices=("detect", "null"),
        default="detect",
        help="null: decode only (throughput baseline)",
    )


def add_correlator_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `firstcall correlator`."""
    _common(parser)
    parser.add_argument("--group", help="consumer group ([kafka] correlator_group)")


def settings_from(
    args: argparse.Namespace, group_field: str, st: Settings | None = None
) -> KafkaSettings:
    """KafkaSettings: a flag where given, else the configured setting."""
    st = st or settings_of(args)
    uses = [group_field, "telemetry_partitions", "findings_partitions", "poll_ms"]
    worker: dict[str, Any] = {}
    if group_field == "worker_group":
        uses += ["max_batch", "record_path", "gc_threshold", "fetch_handoff"]
        worker = {name: getattr(args, name, None)
                  for name in ("max_batch", "record_path", "gc_threshold", "fetch_handoff")}
    return KafkaSettings.from_sections(
        st.kafka, st.topics, uses,
        bootstrap=args.bootstrap, topic_prefix=args.topic_prefix, clock=args.clock,
        telemetry_partitions=args.partitions, findings_partitions=args.findings_partitions,
        **{group_field: args.group}, **worker,
    )  # fmt: skip


@dataclass(frozen=True)
class JobOptions:
    """What `firstcall worker` / `correlator` run with, resolved from flags and settings."""

    kafka: KafkaSettings
    detection: DetectionConfig
    policy: PolicyConfig
    lateness_ms: int
    probe_host: str
    probe_port: int
    log_level: str


def job_options(args: argparse.Namespace, group_field: str) -> JobOptions:
    """Flags over settings, for one job (ConfigError lists every problem)."""
    st = settings_of(args)
    detection = st.detection_config()
    return JobOptions(
        kafka=settings_from(args, group_field, st),
        detection=detection,
        policy=st.policy_config(),
        lateness_ms=pick(getattr(args, "lateness_ms", None), detection.lateness_ms),
        probe_host=pick(args.probe_host, st.probe.host),
        probe_port=pick(args.probe_port, st.probe.port),
        log_level=pick(args.log_level, st.logging.level),
    )


async def _prepare(opts: JobOptions, create_topics: bool) -> None:
    configure(opts.log_level)
    if not create_topics:
        return
    s = opts.kafka
    log = get_logger("topics")
    specs = topic_specs(s)
    created = await retry_forever(
        partial(ensure_topics, s.bootstrap, specs),
        retry_on=(KafkaError, OSError, TimeoutError),
        on_error=lambda exc, n, d: log.warning(
            "create_topics_failed", error=repr(exc), attempt=n, retry_in_s=round(d, 2)
        ),
    )
    log.info("topics_ready", created=sorted(created),
             found=sorted(sp.name for sp in specs if sp.name not in created))


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


async def _serve(
    opts: JobOptions, metrics: Metrics, ready: Callable[[], bool]
) -> ProbeServer | None:
    if opts.probe_port < 0:
        return None
    probe = ProbeServer(metrics.registry, ready, host=opts.probe_host, port=opts.probe_port)
    await probe.start()
    get_logger("probe").info("probe_listening", host=probe.host, port=probe.port)
    return probe


def build_worker(
    s: KafkaSettings,
    metrics: Metrics,
    processor: str = "detect",
    lateness_ms: int = 5000,
    detection: DetectionConfig | None = None,
    policy: PolicyConfig | None = None,
) -> TelemetryWorker:
    """A telemetry worker with its verdict feed (for the outreach hold-off)."""
    board = VerdictBoard(pressure=LinePressure(detection or DetectionConfig()))
    stop_feed = asyncio.Event()

    def factory(p: int) -> PartitionProcessor:
        if processor == "null":
            return NullProcessor(p)
        return DetectProcessor(p, s, board, metrics, detection, policy)

    async def feed() -> None:
        try:
            await follow_verdicts(s.bootstrap, s.topics.verdicts, board, stop_feed)
        finally:
            stop_feed.set()

    background = [feed] if processor == "detect" else []
    return TelemetryWorker(s, factory, metrics, lateness_ms=lateness_ms, background=background)


def worker_from(opts: JobOptions, metrics: Metrics, processor: str = "detect") -> TelemetryWorker:
    """The worker `firstcall worker` runs, with the configured thresholds and policy."""
    return build_worker(
        opts.kafka, metrics, processor, opts.lateness_ms, opts.detection, opts.policy
    )


async def _run(
    opts: JobOptions, create_topics: bool, make: Callable[[Metrics], _Job]
) -> int:
    await _prepare(opts, create_topics)
    metrics = Metrics.create()
    job = make(metrics)
    probe = await _serve(opts, metrics, lambda: job.ready)
    stop = asyncio.Event()
    _stop_on_signals(stop)
    try:
        await job.run(stop)
    finally:
        if probe is not None:
            await probe.stop()
    return int(getattr(job, "exit_code", 0))  # the correlator refuses a clock mix with 2


def _options_or_exit(args: argparse.Namespace, group_field: str) -> JobOptions | int:
    try:
        return job_options(args, group_field)
    except ConfigError as exc:
        return print_problems(exc)


def run_worker(args: argparse.Namespace) -> int:
    """Run `firstcall worker` until SIGTERM/SIGINT."""
    opts = _options_or_exit(args, "worker_group")
    if isinstance(opts, int):
        return opts
    return asyncio.run(
        _run(opts, not args.no_create_topics, lambda m: worker_from(opts, m, args.processor))
    )


def run_correlator(args: argparse.Namespace) -> int:
    """Run `firstcall correlator` until SIGTERM/SIGINT."""
    opts = _options_or_exit(args, "correlator_group")
    if isinstance(opts, int):
        return opts
    return asyncio.run(
        _run(opts, not args.no_create_topics,
             lambda m: CorrelatorWorker(opts.kafka, m, opts.detection))
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """`python -m monitor.apps.kafka_jobs worker|correlator ...` (what `firstcall` runs too)."""
    parser = argparse.ArgumentParser(prog="python -m monitor.apps.kafka_jobs")
    sub = parser.add_subparsers(dest="command", required=True)
    add_worker_arguments(sub.add_parser("worker", help="telemetry worker"))
    add_correlator_arguments(sub.add_parser("correlator", help="line correlator"))
    args = parser.parse_args(argv)
    if args.command == "worker":
        return run_worker(args)
    return run_correlator(args)


if __name__ == "__main__":
    sys.exit(main())
