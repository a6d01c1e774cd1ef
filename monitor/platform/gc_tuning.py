"""Garbage collection tuned for batch processing (the workers' and replay's hot loops).

Every batch allocates thousands of short-lived container objects (aiokafka's
records, lists, events) that die by reference counting when the batch ends.
With CPython's default young-generation threshold (700 allocations) the cyclic
collector runs several times inside every batch, walks those live records and
promotes them, and its full collections walk every session's state: measured
at 16 % of a worker's time. A young threshold above a batch's allocations lets
the batch die before any collection; freezing what startup built keeps the
interpreter's own objects out of every later collection.
"""

from __future__ import annotations

import gc
from typing import Final

PYTHON_DEFAULT: Final = 0  # keep CPython's own thresholds
DEFAULT_YOUNG_THRESHOLD: Final = 100_000  # a 20,000-record batch: about 2 containers each


def tune_for_batches(young_threshold: int = DEFAULT_YOUNG_THRESHOLD) -> tuple[int, int, int]:
    """Freeze what exists now and set the young-generation threshold (0: Python's default).

    Returns the thresholds in force afterwards. Cyclic garbage is still collected,
    only less often: at most `young_threshold` net new container objects wait for it.
    """
    if young_threshold < 0:
        raise ValueError("young_threshold must be >= 0")
    if young_threshold != PYTHON_DEFAULT:
        gc.collect()
        gc.freeze()  # startup's modules, classes and settings: never garbage
        _, older, oldest = gc.get_threshold()
        gc.set_threshold(young_threshold, older, oldest)
    return gc.get_threshold()
