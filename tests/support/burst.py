"""An outage's burst through a case runtime, and what the runtime keeps of it in memory.

`N` families on one edge drop together: the edge's line incident covers them, each gets
its own lag or disconnect incident, its covered decision and the in-app notice (through
the notice lane), its problem ends, and the line's `closed` record closes them in bulk.
Then ordinary families elsewhere have problems, are called, are fine again and their cases
close when the quiet time has passed. Once every case is closed, `kept` names the per-case
structures of the runtime and how many entries each still holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.streaming.bus_feed import ListOutcomeSink
from outreach.channels import CHANNEL_NAMES
from outreach.contact.chain import Waits
from outreach.contact.runtime import CaseRuntime, RuntimeConfig
from outreach.decide.case_states import CaseState
from outreach.decide.decision import COVERED_BY_LINE_INCIDENT, ChannelName, PolicyConfig
from outreach.store import unit
from outreach.store.cases import CaseStore
from outreach.store.directory import DirectoryStore
from outreach.store.directory_import import import_file
from outreach.store.queue import QueueStore
from tests.support.channel_fakes import FakeChannel
from tests.support.line_fakes import ChatWhereOpen, line_incident
from tests.support.live_support import FAST, HEADER, T0, FakePager, decision, incident

NOW = T0 + 60_000  # the wall clock of the runtime and the store
BACK = T0 + 49_000  # every outage family is back a moment before the edge
OVER = T0 + 50_000  # the line incident's end
LATER = T0 + 3_600_000  # the ordinary families' problems: an hour after the outage
LINE_ID = "line-edge-1"
OPEN_STATES: tuple[CaseState, ...] = ("open", "contacting", "waiting_agent", "resolved")


@dataclass
class Burst:
    """A runtime over a school whose `covered` families sit on one edge, `ordinary` elsewhere."""

    runtime: CaseRuntime
    chat: ChatWhereOpen
    sink: ListOutcomeSink
    covered: int
    ordinary: int
    round: int = 0  # bursts run so far (each uses fresh incident ids)
    peak_chains: int = 0  # chains running at once at most (the notices held back together)

    async def outage(self) -> None:
        """The edge's line incident over the covered families, their notices and its end."""
        self.round += 1
        iid = f"{LINE_ID}-{self.round}"
        start = T0 + self.round * 7_200_000
        fams = [incident(self.round, student=f"fam-{i}", kind="lag" if i % 3 else "disconnect",
                         start=start + 1_000 + (i % 7) * 3_000) for i in range(self.covered)]
        sessions = [f.session_id or "" for f in fams]
        rt = self.runtime
        lane = rt.chain.lane
        if lane is not None:
            lane.hold()  # behind with the records, as the Kafka runner is: every chain waits
        await rt.handle(line_incident("open", sessions, start=start, incident_id=iid))
        for fam in fams:
            async with unit.batch(rt.cases.engine):
                await rt.handle(fam)
                await rt.handle(decision(fam, "chat", COVERED_BY_LINE_INCIDENT))
        self.peak_chains = max(self.peak_chains, len(rt.chains.tasks))
        if lane is not None:
            lane.resume()
        await asyncio.sleep(0)
        while lane is not None and (lane._queued or lane._pending or lane.sending):
            await asyncio.sleep(0.01)  # every notice sent, no family answered
        for fam in fams:
            await rt.handle(incident(self.round, "closed", student=fam.student_id or "",
                                     kind=fam.kind, start=fam.started_at,
                                     ended=start + 49_000))
        async with unit.batch(rt.cases.engine):
            await rt.handle(line_incident("closed", [], start=start, ended=start + 50_000,
                                          incident_id=iid))
        await rt.drain()

    async def ordinary_problems(self) -> None:
        """Ordinary families' problems: each called, fine again, its case closed when quiet."""
        rt = self.runtime
        start = T0 + self.round * 7_200_000 + 3_600_000
        for i in range(self.ordinary):
            inc = incident(self.round, student=f"ord-{i}", start=start + i * 10, room="room-9")
            await rt.handle(inc)
            await rt.handle(decision(inc, "call"))
        for i in range(self.ordinary):
            await rt.handle(incident(self.round, "closed", student=f"ord-{i}", room="room-9",
                                     start=start + i * 10, ended=start + 30_000))
        await rt.close_quiet(start + 30_000 + rt.policy.case_reopen_ms + 1)
        await rt.drain()

    def forget_recorded(self) -> None:
        """Drop what the fake channels and the sink recorded (the probe's, not the runtime's)."""
        self.sink.records.clear()
        for channel in self.runtime.chain.channels.values():
            channel.sent.clear()  # type: ignore[attr-defined]

    async def open_cases(self) -> int:
        """Cases of the database not closed (0 once the burst is over)."""
        cases = self.runtime.cases
        return sum([len(await cases.cases_in_state(s)) for s in OPEN_STATES])


async def burst_school(engine: AsyncEngine, tmp_path: Path, covered: int, ordinary: int,
                       wall: Callable[[], int] = lambda: NOW, waits: Waits = FAST) -> Burst:
    """`covered` families on the edge (every tenth with its app closed), `ordinary` elsewhere
    (called), imported into `engine`, and a runtime over them with fake channels (`waits`:
    how long a chain waits for the family's answer; long, every notice's chain is alive
    until its family's problem ends)."""
    rows = "".join(f"fam-{i},Kid {i},Parent {i},+1415555{i:04d},mother,sms,en,UTC,,no\n"
                   for i in range(covered))
    rows += "".join(f"ord-{i},Kid {i},Parent {i},+1415666{i:04d},mother,call,en,UTC,,no\n"
                    for i in range(ordinary))
    path = tmp_path / f"burst-{covered}-{ordinary}.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    directory = DirectoryStore(engine)
    assert (await import_file(path, directory)).students == covered + ordinary
    cases = CaseStore(engine, wall)
    chat = ChatWhereOpen({f"fam-{i}" for i in range(covered) if i % 10})
    fakes: dict[ChannelName, object] = {name: FakeChannel(name) for name in CHANNEL_NAMES}
    fakes["chat"] = chat
    sink = ListOutcomeSink()
    runtime = CaseRuntime(
        cases, directory, fakes, sink,  # type: ignore[arg-type]
        policy=PolicyConfig(all_clear_text="Class is back."),
        config=RuntimeConfig(waits, close_wait_s=5), queue=QueueStore(engine, cases, wall),
        pager=FakePager(), wall=wall)  # fmt: skip
    return Burst(runtime, chat, sink, covered, ordinary)


def kept(rt: CaseRuntime) -> dict[str, int]:
    """Entries each per-case (or per-student) structure of the runtime holds now."""
    lane = rt.chain.lane
    return {
        "runtime._locks": len(rt._locks),
        "runtime.paged": len(rt.paged),
        "chains.tasks": len(rt.chains.tasks),
        "chains.starting": len(rt.chains.starting),
        "chains.started": len(rt.chains.started),
        "mailbox.boxes": len(rt.mailbox.boxes),
        "chain.seen": len(rt.chain.seen),
        "lane._queued": 0 if lane is None else len(lane._queued),
        "lane._pending": 0 if lane is None else len(lane._pending),
        "lane._batches": 0 if lane is None else len(lane._batches),
        "lines._covers": len(rt.lines._covers),
        "lines._members": len(rt.lines._members),
        "early._ids": len(rt.early._ids),
        "quiet.deadlines": len(rt.quiet.deadlines),
        "recovery.pending": len(rt.recovery.pending),
    }

