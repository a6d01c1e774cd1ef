"""Nearest-rank percentiles of small samples (reports, the dashboard, the digest)."""

from __future__ import annotations

import math


def percentile(values: list[int], q: float) -> int | None:
    """The q-quantile (nearest rank) of `values`, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]
