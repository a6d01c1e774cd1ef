"""The process's resident memory, and handing freed heap memory back to the system."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import resource


def rss_bytes() -> int:
    """The process's resident set size now (Linux: /proc; elsewhere its peak)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * resource.getpagesize()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def release_free_memory() -> bool:
    """`gc.collect()`, then glibc's `malloc_trim(0)` where there is one (False: none)."""
    gc.collect()
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None)
    if trim is None:
        return False
    trim(0)
    return True
