"""Feeding a simulated school at real speed (or faster), for the live demo."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

from monitor.simulate.config import SimConfig
from monitor.simulate.run import iter_delivered

Sink = Callable[[bytes], Awaitable[None] | None]


async def feed_live(config: SimConfig, sink: Sink, speed: float = 1.0) -> int:
    """Call `sink(line)` for each event when its delivery time comes; returns the count.

    `speed` > 1 runs faster than real time. Simulated time starts now: the first
    event is delivered at once.
    """
    if speed <= 0:
        raise ValueError("speed must be > 0")
    loop = asyncio.get_running_loop()
    wall0 = loop.time()
    sim0: int | None = None
    count = 0
    for delivery_ms, raw in iter_delivered(config):
        if sim0 is None:
            sim0 = delivery_ms
        due = wall0 + (delivery_ms - sim0) / 1000.0 / speed
        delay = due - loop.time()
        if delay > 0.001:
            await asyncio.sleep(delay)
        elif count % 512 == 0:
            await asyncio.sleep(0)  # running behind: still let other tasks run
        result = sink(raw)
        if inspect.isawaitable(result):
            await result
        count += 1
    return count
