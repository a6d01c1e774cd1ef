"""The queue's database reads: one for all consoles asking at once, kept until a change."""

from __future__ import annotations

import asyncio

from monitor.desk.queue_reads import QueueReadCache, QueueReads
from monitor.desk.ring import Points


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def reader(gate: asyncio.Event | None = None) -> tuple[list[int], QueueReadCache, Clock]:
    made: list[int] = []
    clock = Clock()

    async def read() -> QueueReads:
        made.append(len(made))
        n = len(made)
        if gate is not None:
            await gate.wait()
        return QueueReads([], {}, {"ann": n})

    return made, QueueReadCache(read, clock), clock


async def test_fifty_consoles_asking_at_once_share_one_read() -> None:
    gate = asyncio.Event()
    made, cache, _ = reader(gate)
    asking = [asyncio.create_task(cache.get(7, 0.0)) for _ in range(50)]
    await asyncio.sleep(0)
    gate.set()
    got = await asyncio.gather(*asking)
    assert made == [0] and {r.holding["ann"] for r in got} == {1}


async def test_a_change_notified_while_a_read_runs_is_never_answered_by_that_read() -> None:
    gate = asyncio.Event()
    made, cache, _ = reader(gate)
    before = asyncio.create_task(cache.get(1, 5.0))
    await asyncio.sleep(0)
    after = asyncio.create_task(cache.get(2, 5.0))  # the change came in meanwhile
    await asyncio.sleep(0)
    gate.set()
    assert [(await before).holding["ann"], (await after).holding["ann"]] == [1, 2]
    assert made == [0, 1]


async def test_reads_are_kept_until_a_change_or_the_age_limit_and_without_notices_not_at_all(
) -> None:
    made, cache, clock = reader()
    await cache.get(1, 5.0)
    clock.now = 4.0
    await cache.get(1, 5.0)
    assert len(made) == 1  # nothing changed: no database read
    await cache.get(2, 5.0)
    assert len(made) == 2  # a change: read again
    clock.now = 9.5
    await cache.get(2, 5.0)
    assert len(made) == 3  # the safety net: at most 5 s old
    await cache.get(2, 0.0)
    await cache.get(2, 0.0)
    assert len(made) == 5 and cache.reads == 5  # notices not trusted: every request reads


def test_the_ring_of_points_keeps_the_newest_in_order_in_flat_memory() -> None:
    pts = Points(3)
    for k in range(5):
        pts.append(tuple(float(k * 10 + i) for i in range(7)))
    assert [r[0] for r in pts.rows()] == [20.0, 30.0, 40.0] and len(pts) == 3
    assert pts.buf.itemsize * len(pts.buf) == 3 * 7 * 8  # 8 bytes a value, nothing per point


def test_the_ring_is_allocated_whole_when_the_session_is_first_seen() -> None:
    pts = Points(150)
    where, length = pts.buf.buffer_info()
    assert length == 150 * 7 and len(pts) == 0 and list(pts.rows()) == []
    pts.append(tuple(float(i) for i in range(7)))
    assert [r[:2] for r in pts.rows()] == [(0.0, 1.0)] and len(pts) == 1
    for k in range(1, 400):  # filling it and going round it twice: never reallocated
        pts.append(tuple(float(k * 10 + i) for i in range(7)))
    assert pts.buf.buffer_info() == (where, length)
    assert [r[0] for r in pts.rows()] == [float(k * 10) for k in range(250, 400)]
    assert list(Points(0).rows()) == [] and len(Points(0).buf) == 0
