"""From link capacity to the numbers a class client reports every interval.

`ratio` is capacity divided by what the class video needs. At or above 1 the
interval is healthy (small noise, well inside the contract's thresholds); below
1 the media starves: loss, queueing delay, jitter and freezes grow with the
deficit, and fps falls.
"""

from __future__ import annotations

import random
from typing import Final

StatsValues = tuple[float, float, float, float, float, int, int]

HEALTHY_RATIO: Final = 1.2


def stats_values(
    rng: random.Random,
    ratio: float,
    need_kbps: float,
    base_rtt: float,
    base_jitter: float,
    base_loss: float,
    max_fps: float,
    interval_ms: int,
) -> StatsValues:
    """(rtt_ms, jitter_ms, loss_pct, recv_kbps, fps, freeze_ms, audio_stall_ms)."""
    rnd = rng.random
    if ratio >= 1.0:
        rtt = base_rtt * (0.85 + 0.3 * rnd())
        jitter = base_jitter * (0.7 + 0.6 * rnd())
        loss = base_loss * 2.0 * rnd()
        recv = need_kbps * (0.93 + 0.1 * rnd())
        fps = max_fps - 3.0 * rnd()
        if ratio < HEALTHY_RATIO:  # close to the limit: a little worse, still fine
            squeeze = (HEALTHY_RATIO - ratio) / (HEALTHY_RATIO - 1.0)
            rtt += 40.0 * squeeze * rnd()
            jitter += 6.0 * squeeze * rnd()
            loss += 2.0 * squeeze * rnd()
            fps -= 4.0 * squeeze * rnd()
        u = rnd()
        freeze = int(250 * interval_ms / 2000 * rnd()) if u < 0.03 else 0
        stall = int(150 * interval_ms / 2000 * rnd()) if u > 0.985 else 0
    else:
        deficit = 1.0 - max(0.0, ratio)
        rtt = base_rtt + deficit * 900.0 * (0.5 + rnd())
        jitter = base_jitter + deficit * 120.0 * (0.5 + rnd())
        loss = min(100.0, base_loss + deficit * 45.0 * (0.7 + 0.6 * rnd()))
        recv = need_kbps * max(0.0, ratio) * (0.9 + 0.1 * rnd())
        fps = max(0.0, max_fps * ratio * ratio * (0.9 + 0.2 * rnd()))
        freeze = int(min(1.0, deficit * 1.3 * (0.75 + 0.5 * rnd())) * interval_ms)
        stall = int(min(1.0, max(0.0, deficit - 0.3) * 0.75 * (0.75 + 0.5 * rnd())) * interval_ms)
        if ratio < 0.05:
            recv, fps, freeze, stall = 0.0, 0.0, interval_ms, interval_ms
    # int(x * 10 + 0.5) / 10 rounds like round(x, 1) for x >= 0, and is faster
    return (
        int(rtt * 10 + 0.5) / 10,
        int(jitter * 10 + 0.5) / 10,
        int(loss * 100 + 0.5) / 100,
        int(recv * 10 + 0.5) / 10,
        int(fps * 10 + 0.5) / 10,
        freeze,
        stall,
    )
