"""The contact chains running, one task per case; in a batch they start once it commits."""

from __future__ import annotations

import asyncio
import contextlib
from functools import partial

import structlog

from detectors.records import Outreach
from outreach.contact.chain import ContactChain
from outreach.contact.closing import stop_chain
from outreach.contact.signals import Mailbox
from outreach.decide.clock import Clock
from outreach.decide.decision import ChannelName
from outreach.decide.resume import Waiting
from outreach.store import unit
from outreach.store.cases import CaseStore

log = structlog.get_logger(__name__)


class ChainTasks:
    """Starts, tracks and stops the chains of a runtime (`tasks`: running, by case id)."""

    def __init__(
        self, chain: ContactChain, cases: CaseStore, mailbox: Mailbox, wall: Clock,
        close_wait_s: float,
    ) -> None:  # fmt: skip
        self.chain = chain
        self.engine = cases.engine
        self.mailbox = mailbox
        self.wall = wall
        self.close_wait_s = close_wait_s
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.starting: set[str] = set()  # chains to start once the batch commits
        self.started: dict[str, int] = {}  # wall time each case's chain started

    def busy(self, case_id: str) -> bool:
        """Is a chain running for the case, or about to start when the batch commits?"""
        return case_id in self.tasks or case_id in self.starting

    def start(
        self, case_id: str, o: Outreach, first: ChannelName, waiting: Waiting | None = None
    ) -> None:
        """Run the case's chain (in a batch: once it has committed; rolled back: never)."""
        # The chain reads the case and contacts the family: it must see the batch's rows,
        # and a rolled-back batch is applied again, which starts it then.
        if unit.on_commit(self.engine, partial(self._committed, case_id, o, first, waiting)):
            self.starting.add(case_id)
            return
        self._spawn(case_id, o, first, waiting)

    async def stop(self, case_id: str) -> None:
        """Tell the case's running chain its problem is over and wait for it (bounded)."""
        self.starting.discard(case_id)  # not started yet (in a batch): it never starts
        task = self.tasks.get(case_id)
        lane = self.chain.lane
        if task is not None and lane is not None and lane.queued(case_id):
            task.cancel()  # waiting for its turn to send the notice: nothing announced yet
            lane.withdraw(case_id)
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return
        if task is not None:  # it may write to rows the batch holds: commit them first
            await unit.checkpoint(self.engine)
        await stop_chain(task, self.mailbox, case_id, self.close_wait_s)

    def forget(self, case_id: str) -> None:
        """The case is over: drop what is kept of its chain."""
        self.started.pop(case_id, None)

    def rolled_back(self) -> None:
        """A batch was rolled back: the chains it was to start never start."""
        self.starting.clear()

    async def drain(self) -> None:
        """Wait until every running chain has finished."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks.values()), return_exceptions=True)

    async def cancel_all(self) -> None:
        """Cancel every running chain and wait for them to stop."""
        for task in list(self.tasks.values()):
            task.cancel()
        await asyncio.gather(*list(self.tasks.values()), return_exceptions=True)

    def _spawn(
        self, case_id: str, o: Outreach, first: ChannelName, waiting: Waiting | None
    ) -> None:
        self.started[case_id] = self.wall()
        if waiting is None and self.chain.lane is not None and self.chain.takes_turns(o):
            self.chain.lane.expect(case_id)  # from now a stop before its turn cancels it
        task = asyncio.create_task(self.chain.run(case_id, o, first, waiting=waiting))
        self.tasks[case_id] = task
        task.add_done_callback(partial(self._done, case_id))

    def _committed(
        self, case_id: str, o: Outreach, first: ChannelName, waiting: Waiting | None
    ) -> None:
        if case_id in self.starting:  # not stopped meanwhile
            self.starting.discard(case_id)
            self._spawn(case_id, o, first, waiting)

    def _done(self, case_id: str, task: asyncio.Task[None]) -> None:
        if self.tasks.get(case_id) is task:
            del self.tasks[case_id]
            if self.chain.lane is not None:
                self.chain.lane.withdraw(case_id)
        if not task.cancelled() and task.exception() is not None:
            log.error("chain_failed", case_id=case_id, error=repr(task.exception()))
