"""`firstcall simulate`: write a simulated school day's telemetry (and its ground truth)."""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import math
import sys
import time
from collections.abc import Iterable
from contextlib import ExitStack
from typing import IO, cast

import orjson

from monitor.simulate.config import (
    CLEAN_DELIVERY,
    DEFAULT_START_MS,
    FAULT_FIELDS,
    NO_FAULTS,
    FaultRates,
    Injected,
    MessConfig,
    SimConfig,
)
from monitor.simulate.run import iter_lines, simulate

EPILOG = """\
examples:
  firstcall simulate --out telemetry.jsonl --truth truth.jsonl
  firstcall simulate --seed 3 --classrooms 8 --lesson-minutes 20-30 --out - | head
  firstcall simulate --events 1000000 --out bench.jsonl.gz        # streamed, no truth
  firstcall simulate --faults none --mess none --out clean.jsonl
  firstcall simulate --fault edge_outage_per_edge_hour=1 --fault blip=0.3 --out t.jsonl

Events are written one JSON object per line in delivery order (what a Kafka
consumer would see). truth.jsonl has one row per true episode, derived from
the clean stream with the contract's definitions.
fault names: """ + ", ".join(FAULT_FIELDS)


def _range(text: str) -> tuple[float, float]:
    lo, _, hi = text.partition("-")
    a = float(lo)
    b = float(hi) if hi else a
    if b < a:
        raise argparse.ArgumentTypeError(f"bad range {text!r}")
    return a, b


def _fault(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep or name not in FAULT_FIELDS:
        raise argparse.ArgumentTypeError(
            f"expected NAME=RATE with NAME in {', '.join(FAULT_FIELDS)}"
        )
    return name, float(value)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `firstcall simulate`."""
    parser.description = __doc__
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    out = parser.add_argument_group("output")
    out.add_argument("--out", default="-", help="telemetry file (.gz to compress; '-' = stdout)")
    out.add_argument("--truth", help="write ground-truth episodes here (JSON Lines)")
    out.add_argument("--faults-out", help="write the injected faults here (JSON Lines)")
    out.add_argument("--quiet", action="store_true", help="no summary on stderr")
    size = parser.add_argument_group("school")
    size.add_argument("--seed", type=int, default=1, help="random seed (same seed, same bytes)")
    size.add_argument("--classrooms", type=int, default=10, help="number of live lessons")
    size.add_argument(
        "--events", type=int, help="aim for about this many events (sets --classrooms)"
    )
    size.add_argument(
        "--students", type=_range, default=(3, 8), help="students per class, e.g. 3-8"
    )
    size.add_argument(
        "--lesson-minutes", type=_range, default=(25, 40), help="lesson length range, e.g. 25-40"
    )
    size.add_argument(
        "--spread-minutes", type=float, help="lesson starts are spread over this many minutes"
    )
    size.add_argument(
        "--start-ms", type=int, default=DEFAULT_START_MS, help="school start, epoch ms"
    )
    size.add_argument("--regions", type=int, default=2)
    size.add_argument("--isps", type=int, default=4)
    size.add_argument("--edges", type=int, default=3, help="media servers (SFUs)")
    flt = parser.add_argument_group("faults")
    flt.add_argument("--faults", choices=("default", "none"), default="default")
    flt.add_argument("--fault-scale", type=float, default=1.0, help="multiply every fault rate")
    flt.add_argument("--fault", type=_fault, action="append", default=[], metavar="NAME=RATE")
    flt.add_argument("--no-link-degradation", action="store_true", help="links never limit")
    flt.add_argument("--bad-app-version", default="", metavar="VERSION",
                     help="roll out a release that crashes often (to 25%% of the sessions)")
    flt.add_argument("--bad-edge", default="", metavar="EDGE",
                     help="give this edge (e.g. sfu-bergen) two extra outages")
    mess = parser.add_argument_group("messy delivery")
    mess.add_argument("--mess", choices=("default", "none"), default="default")
    mess.add_argument("--duplicates", type=float, help="share of events delivered twice")
    mess.add_argument("--reorder", type=float, help="share of events delivered late")
    mess.add_argument("--lateness-ms", type=int, help="most an event is delivered late")
    mess.add_argument("--skew-ms", type=int, help="largest client clock offset (+-)")
    mess.add_argument("--drop-stats", type=float, help="share of stats events lost")


def config_from_args(args: argparse.Namespace) -> SimConfig:
    """The simulation config the options describe."""
    faults = NO_FAULTS if args.faults == "none" else FaultRates()
    faults = faults.scaled(args.fault_scale) if args.fault_scale != 1.0 else faults
    if args.fault:
        faults = dataclasses.replace(faults, **dict(args.fault))
    mess = CLEAN_DELIVERY if args.mess == "none" else MessConfig()
    overrides = {
        "duplicate_rate": args.duplicates,
        "reorder_rate": args.reorder,
        "max_lateness_ms": args.lateness_ms,
        "max_skew_ms": args.skew_ms,
        "drop_stats_rate": args.drop_stats,
    }
    mess = dataclasses.replace(mess, **{k: v for k, v in overrides.items() if v is not None})
    students = (int(args.students[0]), int(args.students[1]))
    minutes = args.lesson_minutes
    classrooms = args.classrooms
    if args.events:
        per_session = (minutes[0] + minutes[1]) / 2 * 30 + 5
        classrooms = max(1, math.ceil(args.events / per_session / (sum(students) / 2)))
    spread = args.spread_minutes
    if spread is None:
        spread = max(10.0, classrooms / 4)  # about 4 lessons starting per minute at most
    return SimConfig(
        seed=args.seed,
        classrooms=classrooms,
        students_min=students[0],
        students_max=students[1],
        lesson_minutes_min=minutes[0],
        lesson_minutes_max=minutes[1],
        start_ms=args.start_ms,
        start_spread_minutes=spread,
        regions=args.regions,
        isps=args.isps,
        edges=args.edges,
        faults=faults,
        mess=mess,
        link_degradation=not args.no_link_degradation,
        injected=Injected(bad_app_version=args.bad_app_version, bad_edge=args.bad_edge),
    )


def _open(path: str, stack: ExitStack) -> IO[bytes]:
    if path == "-":
        return sys.stdout.buffer
    if path.endswith(".gz"):
        return cast(IO[bytes], stack.enter_context(gzip.open(path, "wb", compresslevel=3)))
    return stack.enter_context(open(path, "wb"))


def _write(lines: Iterable[bytes], out: IO[bytes]) -> int:
    n = 0
    buf: list[bytes] = []
    for raw in lines:
        buf.append(raw)
        if len(buf) >= 4096:
            out.write(b"\n".join(buf) + b"\n")
            n += len(buf)
            buf = []
    if buf:
        out.write(b"\n".join(buf) + b"\n")
        n += len(buf)
    return n


def run(args: argparse.Namespace) -> int:
    """Generate and write; returns the exit code."""
    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"firstcall simulate: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    truth_rows = None
    faults_count: int | None = None
    with ExitStack() as stack:
        out = _open(args.out, stack)
        if args.truth or args.faults_out:
            result = simulate(config)
            count = _write(result.lines(), out)
            truth_rows = result.truth
            faults_count = len(result.faults)
            for path, rows in ((args.truth, result.truth), (args.faults_out, result.faults)):
                if path:
                    _write((orjson.dumps(r) for r in rows), _open(path, stack))
        else:
            count = _write(iter_lines(config), out)
        out.flush()
    if not args.quiet:
        seconds = time.perf_counter() - started
        extra = f", {len(truth_rows)} true episodes" if truth_rows is not None else ""
        print(
            f"simulated {config.classrooms} classrooms: {count} events{extra} "
            f"in {seconds:.1f} s ({count / max(seconds, 1e-9):,.0f} events/s)",
            file=sys.stderr,
        )
        for line in written_files(args, count, truth_rows, faults_count):
            print(line, file=sys.stderr)
    return 0


def written_files(args: argparse.Namespace, events: int, truth: list[dict[str, object]] | None,
                  faults: int | None) -> list[str]:
    """One line per file written, naming it and what it holds (stdout is not a file)."""
    lines = []
    if args.out != "-":
        lines.append(f"wrote {args.out}: telemetry, {events} events")
    if args.truth and truth is not None:
        lines.append(f"wrote {args.truth}: ground truth, {len(truth)} episodes")
    if args.faults_out and faults is not None:
        lines.append(f"wrote {args.faults_out}: injected faults, {faults} rows")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run as a stand-alone command (`python -m monitor.apps.simulate`)."""
    parser = argparse.ArgumentParser(prog="firstcall simulate")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
