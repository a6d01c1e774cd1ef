"""Once an outage's families and the ordinary ones after it are all closed, the runtime keeps
nothing of them in memory (issue 20: the outreach service's RSS stayed up after a burst).

`tests.support.burst` drives the runtime through a line incident covering N families (their
notices, the line's close closing them in bulk), then ordinary families called and closed
when fine; `kept` counts the entries of each per-case structure of the runtime.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.burst import burst_school, kept
from tests.support.casedb import case_engine  # noqa: F401

COVERED, ORDINARY = 20, 8


async def test_nothing_of_a_closed_case_is_kept_after_an_outage_and_ordinary_problems(
    case_engine: AsyncEngine,  # noqa: F811
    tmp_path: Path,
) -> None:
    b = await burst_school(case_engine, tmp_path, COVERED, ORDINARY)
    try:
        for _ in range(2):  # two outages over the same families
            await b.outage()
            await b.ordinary_problems()
            assert await b.open_cases() == 0
        assert len(b.chat.sent) == 2 * COVERED  # every covered family was told, each time
        left = kept(b.runtime)
        # The line book remembers each covered session's line incidents until the stale
        # sweep prunes them (event time; they decide whether a late problem was covered).
        assert left.pop("lines._covers") == COVERED
        assert left == dict.fromkeys(left, 0)  # no lock, task, mailbox ... of a closed case
    finally:
        await b.runtime.aclose()


async def test_a_lock_someone_waits_for_is_kept_until_its_last_user_is_done(
    case_engine: AsyncEngine,  # noqa: F811
    tmp_path: Path,
) -> None:
    b = await burst_school(case_engine, tmp_path, 1, 0)
    locks = b.runtime._locks
    first_in, release = asyncio.Event(), asyncio.Event()
    order: list[str] = []

    async def user(name: str) -> None:
        async with b.runtime._locked("student:fam-0"):
            order.append(name)
            first_in.set()
            await release.wait()

    first = asyncio.create_task(user("first"))
    await first_in.wait()
    second = asyncio.create_task(user("second"))
    await asyncio.sleep(0)
    assert len(locks) == 1 and order == ["first"]  # the second waits for the same lock
    release.set()
    await asyncio.gather(first, second)
    assert order == ["first", "second"] and len(locks) == 0
    await b.runtime.aclose()
