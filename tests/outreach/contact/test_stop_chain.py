"""Stopping a case's chain: the chain is told, waited for (bounded), cancelled if it will not
end; whoever stops it keeps its own cancellation."""

from __future__ import annotations

import asyncio

import pytest

from outreach.contact.closing import stop_chain
from outreach.contact.signals import Mailbox


async def _chain(mailbox: Mailbox, case_id: str, ended: list[str]) -> None:
    """A chain that ends when its mailbox says the problem is over."""
    mailbox.open(case_id)
    try:
        letter = await mailbox.next(case_id, "m1", 60.0)
        ended.append("told" if letter is not None and letter.signal is None else "timeout")
    finally:
        mailbox.close(case_id)


async def test_a_chain_told_its_problem_is_over_ends_on_its_own() -> None:
    mailbox, ended = Mailbox(), list[str]()
    task = asyncio.create_task(_chain(mailbox, "c1", ended))
    await asyncio.sleep(0)
    await stop_chain(task, mailbox, "c1", 5.0)
    assert ended == ["told"] and task.done() and not task.cancelled()


async def test_a_chain_that_does_not_end_in_time_is_cancelled() -> None:
    task = asyncio.create_task(asyncio.sleep(60))
    await stop_chain(task, Mailbox(), "c1", 0.05)
    assert task.cancelled()


async def test_the_stopper_cancelled_while_it_waits_is_cancelled_itself() -> None:
    chain = asyncio.create_task(asyncio.sleep(60))
    stopper = asyncio.create_task(stop_chain(chain, Mailbox(), "c1", 30.0))
    await asyncio.sleep(0.01)
    stopper.cancel()  # e.g. the service shutting down
    with pytest.raises(asyncio.CancelledError):
        await stopper
    assert stopper.cancelled()
    chain.cancel()


async def test_a_chain_that_failed_says_so_to_whoever_stops_it() -> None:
    async def failing() -> None:
        raise RuntimeError("channel broke")

    task = asyncio.create_task(failing())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="channel broke"):
        await stop_chain(task, Mailbox(), "c1", 1.0)
