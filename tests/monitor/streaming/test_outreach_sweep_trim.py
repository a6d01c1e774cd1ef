"""The outreach service's sweep hands a burst's freed heap back only while no chain runs."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from monitor.platform.heap_trim import GROWN_BYTES, HeapTrim
from monitor.streaming.outreach_service import sweep_forever


@dataclass
class IdleRunner:
    """The runtime's part the sweep uses: nothing to close or publish; `tasks`: chains."""

    tasks: dict[str, object] = field(default_factory=dict)
    sweeps: int = 0

    async def close_quiet(self) -> list[str]:
        self.sweeps += 1
        return []

    async def publish_pending(self) -> list[str]:
        return []


async def sweeping(runner: IdleRunner, heap: HeapTrim, sweeps: int) -> None:
    """Run the sweep until it has swept `sweeps` more times."""
    target = runner.sweeps + sweeps
    task = asyncio.create_task(sweep_forever(runner, 0.0, every_s=0.001,  # type: ignore[arg-type]
                                             heap=heap))  # fmt: skip
    while runner.sweeps < target:
        await asyncio.sleep(0.001)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_the_sweep_trims_after_a_burst_only_once_no_chain_runs() -> None:
    rss = [100 * GROWN_BYTES]
    trims: list[int] = []

    def trim() -> None:
        trims.append(rss[0])
        rss[0] -= GROWN_BYTES // 2

    heap = HeapTrim(rss=lambda: rss[0], trim=trim)
    runner = IdleRunner(tasks={"case-1": object()})  # a chain runs
    await sweeping(runner, heap, 2)
    rss[0] += 3 * GROWN_BYTES  # the burst
    await sweeping(runner, heap, 3)
    assert trims == []  # not while a chain runs (nor before anything grew)
    runner.tasks.clear()
    await sweeping(runner, heap, 3)
    assert trims == [103 * GROWN_BYTES]  # once: nothing grew after it
