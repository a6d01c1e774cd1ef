"""Messy delivery: drops, duplicates, bounded reordering and client clock skew.

Input is the clean stream in true-time order; output is `(delivery_ms, line)`
in delivery order. An event is delivered at its true time, or (reordered or
duplicated copies) up to `max_lateness_ms` later, so an event is never
overtaken by one more than `max_lateness_ms` younger. Skew shifts the `ts` a
client writes by a constant per session; it never changes delivery.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable, Iterator

import msgspec

from monitor.simulate.config import MessConfig
from monitor.simulate.session import Item

Delivered = tuple[int, bytes]


def deliver(
    items: Iterable[Item], skews: list[int], mess: MessConfig, rng: random.Random
) -> Iterator[Delivered]:
    """Encode the clean stream as a consumer would receive it."""
    # msgspec's encoder writes the same bytes as orjson here, but allocates each
    # result at its size (orjson keeps a ~4 KB buffer per result, which made a
    # million held lines cost gigabytes) and is faster for these small objects.
    dumps = msgspec.json.Encoder().encode
    rand = rng.random
    late = mess.max_lateness_ms
    reorder = mess.reorder_rate if late > 0 else 0.0
    dup = mess.duplicate_rate
    drop = mess.drop_stats_rate
    heap: list[tuple[int, int, bytes]] = []
    counter = 0
    for t, idx, _, ev in items:
        while heap and heap[0][0] <= t:
            d, _, raw = heapq.heappop(heap)
            yield d, raw
        if drop and ev["type"] == "stats" and rand() < drop:
            continue
        skew = skews[idx]
        if skew:
            ev["ts"] = t + skew
            raw = dumps(ev)
            ev["ts"] = t
        else:
            raw = dumps(ev)
        if reorder and rand() < reorder:
            counter += 1
            heapq.heappush(heap, (t + rng.randint(1, late), counter, raw))
        else:
            yield t, raw
        if dup and rand() < dup:
            counter += 1
            heapq.heappush(heap, (t + (rng.randint(0, late) if late else 0), counter, raw))
    while heap:
        d, _, raw = heapq.heappop(heap)
        yield d, raw
