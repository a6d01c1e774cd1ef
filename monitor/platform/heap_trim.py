"""Freed heap memory handed back to the system after a burst (glibc only; nothing elsewhere).

After an outage's burst (a thousand families' chains, records and rows at once) CPython has
freed the objects, but the C heap keeps free pages among those still used: the process's RSS
stays near the burst's peak. glibc's `malloc_trim(0)` returns whole free pages to the system.
Measured on the case runtime after a 1,000-family burst on PostgreSQL
(`python -m tests.support.burst_memory`): 4.8-7.2 MiB given back, in 3 ms; a `gc.collect()`
first gave back nothing (no cycles were left) for 78 ms, so it is not done. What it does not
give back is CPython's own small-object arenas still partly used, and the caches the burst
filled (bounded). Done only once the RSS has grown by `grown_bytes` since the last time, and
by the caller only while no chain runs (`monitor.streaming.outreach_service.sweep_forever`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import resource
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Final

GROWN_BYTES: Final = 8 * 2**20  # RSS grown this much since the last trim: trim again


def rss_bytes() -> int:
    """The process's resident set size now (Linux: /proc; elsewhere its peak)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * resource.getpagesize()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def glibc_trim() -> Callable[[], object] | None:
    """glibc's `malloc_trim(0)` (free heap pages back to the system), or None off glibc
    (musl, macOS, Windows: their own allocators; nothing is done there)."""
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name)
    trim = getattr(libc, "malloc_trim", None)
    if trim is None or getattr(libc, "gnu_get_libc_version", None) is None:
        return None
    return partial(trim, 0)


@dataclass
class HeapTrim:
    """Trims the heap when the RSS has grown since the last time (off glibc: never)."""

    grown_bytes: int = GROWN_BYTES
    rss: Callable[[], int] = rss_bytes
    trim: Callable[[], object] | None = field(default_factory=glibc_trim)  # None: no glibc
    last: int = -1  # RSS after the last trim (-1: the RSS when made)

    def __post_init__(self) -> None:
        if self.last < 0:
            self.last = self.rss()

    def maybe(self) -> int | None:
        """Trim if the RSS grew by `grown_bytes` since the last trim: the bytes given back
        (None: not grown, or no glibc: then nothing is done)."""
        if self.trim is None:
            return None
        before = self.rss()
        if before < self.last + self.grown_bytes:
            return None
        self.trim()
        self.last = self.rss()
        return max(0, before - self.last)
