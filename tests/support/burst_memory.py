"""What a case runtime keeps in memory after an outage's burst (a probe, not a test).

    .venv/bin/python -m tests.support.burst_memory --covered 500 --ordinary 100 --rounds 3 \
        [--db postgres] [--trace] [--trim]

`warmups` rounds (caches filled, the directory read), then `rounds` more bursts
(`tests.support.burst`): after each, with every case closed, the per-case structures of the
runtime (`kept`), the Python heap by tracemalloc (current, and the largest differences since
the warm-up grouped by traceback), the live objects by type that grew, and the process's
RSS; with `--trim`, the RSS again after `gc.collect()` and glibc's `malloc_trim(0)`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import structlog

from monitor.platform.heap_trim import glibc_trim, rss_bytes
from outreach.contact.chain import Waits
from outreach.store.db import make_engine, upgrade
from tests.support.burst import Burst, burst_school, kept
from tests.support.casedb import PG_DSN, drop_schema, postgres_schema, sqlite_engine


def type_counts() -> Counter[str]:
    """Live objects tracked by the garbage collector, by type name."""
    return Counter(type(o).__name__ for o in gc.get_objects())


def trimmed() -> str:
    """RSS before, after `gc.collect()` and after `malloc_trim(0)`, with what each took."""
    before, started = rss_bytes(), time.perf_counter()
    gc.collect()
    collected, took_gc = rss_bytes(), time.perf_counter() - started
    started, trim = time.perf_counter(), glibc_trim()
    if trim is not None:
        trim()
    took_trim = time.perf_counter() - started
    return (f"release: rss {before / 2**20:.1f} -> gc.collect {collected / 2**20:.1f}"
            f" ({took_gc * 1000:.0f} ms) -> malloc_trim {rss_bytes() / 2**20:.1f} MiB"
            f" ({took_trim * 1000:.0f} ms; glibc: {trim is not None})")


async def one_round(b: Burst) -> None:
    """An outage's burst, then the ordinary families' problems; every case closed after (what
    the fake channels and the sink recorded is dropped: not the runtime's)."""
    await b.outage()
    await b.ordinary_problems()
    assert await b.open_cases() == 0
    b.forget_recorded()


def snapshot() -> tracemalloc.Snapshot:
    """The traced heap, without tracemalloc's own blocks."""
    return tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__, all_frames=True)])


async def probe(args: argparse.Namespace) -> None:
    """The rounds, and what each left behind."""
    tmp = Path(tempfile.mkdtemp())
    schema = None
    if args.db == "postgres":
        schema = await postgres_schema()
        engine = make_engine(PG_DSN, schema=schema)
        await upgrade(engine)
    else:
        engine = await sqlite_engine(tmp)
    waits = Waits(chat_s=args.wait_s, call_s=args.wait_s, sms_s=args.wait_s)
    b = await burst_school(engine, tmp, args.covered, args.ordinary, waits=waits)
    try:
        gc.collect()
        print(f"before any burst: rss {rss_bytes() / 2**20:.1f} MiB")
        for _ in range(args.warmups):  # caches filled, the directory read, the pool open
            await one_round(b)
            print(f"after a warm-up burst: rss {rss_bytes() / 2**20:.1f} MiB")
            if args.trim:
                print(trimmed())
        gc.collect()
        base_rss = rss_bytes()
        if args.trace:
            tracemalloc.start(args.frames)
        base = snapshot() if args.trace else None
        base_types = type_counts()
        print(f"warm-up done: rss {base_rss / 2**20:.1f} MiB, kept {kept(b.runtime)}")
        for r in range(args.rounds):
            await one_round(b)
            gc.collect()
            rss = rss_bytes()
            print(f"\nround {r + 1}: rss {rss / 2**20:.1f} MiB ({(rss - base_rss) / 2**20:+.1f})")
            print("kept:", kept(b.runtime), "peak chains", b.peak_chains)
            types = type_counts() - base_types
            print("objects grown:", types.most_common(12))
            if base is None:
                diff = []
            else:
                diff = snapshot().compare_to(base, "traceback")
                current, peak = tracemalloc.get_traced_memory()
                grown = sum(d.size_diff for d in diff)
                cases = (r + 1) * (args.covered + args.ordinary)
                print(f"traced now {current / 2**20:.1f} MiB (peak {peak / 2**20:.1f}),"
                      f" since warm-up {grown / 2**10:+.1f} KiB = {grown / cases:+.1f} B per case")
            for d in diff[: args.top]:
                if d.size_diff <= 0:
                    continue
                print(f"  {d.size_diff / 2**10:+8.1f} KiB {d.count_diff:+6d} blocks")
                for line in d.traceback.format()[-2 * args.frames:]:
                    print("      " + line)
            if args.trim:
                print(trimmed())
    finally:
        await b.runtime.aclose()
        await engine.dispose()
        if schema is not None:
            await drop_schema(schema)


def main() -> None:
    """Run the probe with the command line's sizes."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--covered", type=int, default=500)
    p.add_argument("--ordinary", type=int, default=100)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--warmups", type=int, default=1, help="bursts before the first snapshot")
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--frames", type=int, default=6)
    p.add_argument("--top", type=int, default=12)
    p.add_argument("--wait-s", type=float, default=0.05,
                   help="a chain's wait for the family's answer (long: every chain alive at once)")
    p.add_argument("--trace", action="store_true", help="tracemalloc (it costs RSS itself)")
    p.add_argument("--trim", action="store_true", help="gc.collect() + malloc_trim(0) after")
    args = p.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(probe(args))


if __name__ == "__main__":
    main()
