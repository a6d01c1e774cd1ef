"""`firstcall replay`: run recorded telemetry through the live detectors and policy."""

from __future__ import annotations

import argparse
import base64
import gzip
import io
import os
import sys
import time
from collections.abc import Iterator
from typing import BinaryIO

import orjson

from detectors.records import Record, encode
from detectors.telemetry import BadRecord
from monitor.platform.progress import Progress
from monitor.platform.thresholds import load_detection_config, load_policy_config
from monitor.streaming.assembly import Pipeline


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `firstcall replay`."""
    p.add_argument("file", help="telemetry JSON Lines; '-' for stdin; .gz is decompressed")
    p.add_argument("--out", "-o", default="-",
                   help="where incident and outreach records go (default: stdout)")
    p.add_argument("--dead-letter", metavar="FILE",
                   help="write bad records here as JSON Lines {reason, detail, raw}")
    p.add_argument("--config", metavar="FILE",
                   help="TOML or JSON file with [detection] and [outreach] thresholds")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one threshold, e.g. --set silence_ms=8000 (repeatable)")
    p.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                   help="progress bar on stderr (auto: when stderr is a terminal)")
    p.add_argument("--quiet", "-q", action="store_true", help="no summary on stderr")
    p.add_argument("--summary-json", metavar="FILE", help="also write the summary as JSON")


def open_input(path: str) -> tuple[BinaryIO, int | None]:
    """Open a telemetry file (or stdin), transparently gunzipping; returns it and its size."""
    if path == "-":
        return sys.stdin.buffer, None
    size = os.path.getsize(path)
    raw = open(path, "rb")  # noqa: SIM115 - closed by the caller
    head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    if path.endswith(".gz") or head == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw), size  # type: ignore[return-value]
    return raw, size


def _batches(f: BinaryIO, raw_size: int | None, progress: Progress,
             counter: list[int], batch: int = 4096) -> Iterator[list[bytes]]:
    base = getattr(f, "fileobj", None) or f
    out: list[bytes] = []
    for line in f:
        line = line.strip()
        if line:
            out.append(line)
            if len(out) >= batch:
                yield out
                out = []
                progress.update(base.tell() if raw_size else 0, counter[0])
    if out:
        yield out


def run(args: argparse.Namespace) -> int:
    """Replay a file; writes records, prints a summary; exit 0 (1 if unreadable)."""
    try:
        detection = load_detection_config(args.config, args.set)
        policy = load_policy_config(args.config, args.set)
    except (OSError, ValueError) as exc:
        print(f"firstcall replay: bad configuration: {exc}", file=sys.stderr)
        return 2
    try:
        f, size = open_input(args.file)
    except OSError as exc:
        print(f"firstcall replay: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    out: BinaryIO = sys.stdout.buffer if args.out == "-" else open(args.out, "wb")  # noqa: SIM115
    writer = io.BufferedWriter(out, buffer_size=1 << 16) if args.out == "-" else out
    dlq = open(args.dead_letter, "wb") if args.dead_letter else None  # noqa: SIM115

    def on_record(r: Record) -> None:
        writer.write(encode(r) + b"\n")

    def on_bad(b: BadRecord) -> None:
        if dlq is not None:
            dlq.write(orjson.dumps({"reason": b.reason, "detail": b.detail, **raw_field(b.raw)})
                      + b"\n")

    enabled = {"auto": None, "always": True, "never": False}[args.progress]
    progress = Progress(size, enabled=enabled)
    pipe = Pipeline(on_record, detection, policy, on_bad=on_bad,
                    policy_lag_ms=detection.lateness_ms)
    counter = [0]
    t0 = time.perf_counter()
    try:
        for batch in _batches(f, size, progress, counter):
            pipe.feed_raw(batch)
            counter[0] = pipe.stats.records
        pipe.finish()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        print(f"\nfirstcall replay: input broken after {pipe.stats.records:,} records: {exc}",
              file=sys.stderr)
        return 1
    finally:
        progress.close()
        writer.flush()
        if out is not sys.stdout.buffer:
            out.close()
        if dlq is not None:
            dlq.close()
    elapsed = time.perf_counter() - t0
    summary = summarize(pipe, elapsed)
    if not args.quiet:
        print(format_summary(summary), file=sys.stderr)
    if args.summary_json:
        with open(args.summary_json, "wb") as fh:
            fh.write(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    return 0


def raw_field(raw: bytes) -> dict[str, str]:
    """The bad record's bytes as they came: `raw` when UTF-8 text, else `raw_base64`."""
    try:
        return {"raw": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"raw_base64": base64.b64encode(raw).decode("ascii")}


def summarize(pipe: Pipeline, elapsed: float) -> dict[str, object]:
    """The figures a replay ends with."""
    st = pipe.stats
    return {
        "records": st.records,
        "events": st.events,
        "seconds": round(elapsed, 3),
        "records_per_s": round(st.records / elapsed) if elapsed > 0 else 0,
        "bad_records": dict(sorted(st.bad_by_reason.items())),
        "incidents": dict(sorted(st.incidents_by_kind.items())),
        "outreach": dict(sorted(st.outreach_by_action.items())),
        "suppressed": dict(sorted(st.suppressed_by_reason.items())),
        "sessions_tracked": len(pipe.engine.sessions),
        "engine": dict(pipe.engine.counters),
    }


def format_summary(s: dict[str, object]) -> str:
    """Human-readable summary."""
    def kv(d: object) -> str:
        if not isinstance(d, dict) or not d:
            return "none"
        return ", ".join(f"{k} {v:,}" for k, v in d.items())

    bad_records = s["bad_records"]
    bad = sum(bad_records.values()) if isinstance(bad_records, dict) else 0
    return "\n".join([
        f"replayed {s['records']:,} records in {s['seconds']} s ({s['records_per_s']:,} records/s):"
        f" {s['events']:,} events, {bad:,} bad",
        f"bad records: {kv(s['bad_records'])}",
        f"incidents opened: {kv(s['incidents'])}",
        f"outreach: {kv(s['outreach'])}",
        f"suppressed or redirected: {kv(s['suppressed'])}",
    ])
