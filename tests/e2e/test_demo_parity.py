"""`make demo` runs production's case runtime: one simulated day, played through the demo's
assembly (`start_web`: LiveDesk, chat gateway, Twilio stand-in, production's callback app)
and through the production one (`Pipeline` -> in-process bus -> `run_bus(CaseRuntime)`, as
`firstcall outreach` is fed, with the same kinds of channels and the same families), gives
the same decisions, the same cases, the same steps of every contact chain and the same
outcomes.

Both play the day record by record and let the contact chains a record started run to
their end before the next record (`Settled`), so the day plays the same every time.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident, Outreach, Record, decode_record, encode
from monitor.demo_families import RING_S, demo_live_config, demo_status, demo_students
from monitor.demo_families import seed_families as seed_demo_families
from monitor.demo_web import start_web
from monitor.simulate import FaultRates, SimConfig, simulate
from monitor.simulate.twilio_standin import TwilioStandIn
from monitor.streaming.assembly import Pipeline
from monitor.streaming.bus import InProcessBus
from monitor.streaming.bus_feed import ListOutcomeSink, RecordHandler, run_bus
from monitor.streaming.outreach_service import callback_app
from outreach.channels.base import Channel
from outreach.channels.chat import ChatChannel
from outreach.channels.chat_gateway import ChatGateway
from outreach.contact.runtime import CaseRuntime
from outreach.decide.decision import ChannelName
from outreach.store.cases import CaseStore
from outreach.store.db import open_database
from outreach.store.directory import DirectoryStore
from outreach.store.models import cases as cases_table
from outreach.store.outbox import Outbox
from outreach.store.queue import QueueStore
from tests.support.channel_fakes import serve_asgi
from tests.support.live_support import twilio, until

pytestmark = pytest.mark.timeout(240)
INCIDENTS = "support.incidents"
SPEED = 500.0  # the demo's speed: production's waits of the chain, 500 times shorter
FAULTS = FaultRates(
    edge_outage_per_edge_hour=1.0, crash_no_return=0.08, flapping_wifi=0.1, cellular_fade=0.4
)
DAY = SimConfig(seed=2, classrooms=4, lesson_minutes_min=12, lesson_minutes_max=15,
                faults=FAULTS)
CHAIN_EVENTS = ("decision", "gate", "fallback")
CaseSteps = tuple[str | None, tuple[tuple[str, str, str], ...]]  # outcome, chain steps


@dataclass
class Settled:
    """Takes each record, then lets the contact chains run to their end."""

    inner: RecordHandler
    runtime: CaseRuntime
    handled: int = 0

    async def handle(self, record: Incident | Outreach) -> None:
        """Hand the record on and wait for the chains."""
        await self.inner.handle(record)
        await self.runtime.drain()
        self.handled += 1


@dataclass
class Day:
    """What an assembly made of the day."""

    decisions: list[tuple[str, str, str]] = field(default_factory=list)
    cases: dict[str, CaseSteps] = field(default_factory=dict)
    published: dict[str, str] = field(default_factory=dict)


def day_batches() -> list[list[bytes]]:
    """The simulated day's telemetry, in batches as a consumer would read them."""
    lines = list(simulate(DAY).lines())
    return [lines[i : i + 200] for i in range(0, len(lines), 200)]


async def play(
    bus: InProcessBus, settled: Settled, feed: Callable[[list[bytes]], Awaitable[None]],
    finish: Callable[[], Awaitable[None]],
) -> None:
    """Feed the day batch by batch; each batch's records are settled before the next."""
    consume = asyncio.create_task(run_bus(settled, bus, INCIDENTS))
    for batch in [*day_batches(), []]:
        if batch:
            await feed(batch)
        else:
            await finish()
        await until(lambda: settled.handled == bus.size(INCIDENTS) or consume.done(), 60)
    await bus.close(INCIDENTS)
    await consume
    await settled.runtime.close_stale(0)  # the end of the school day


async def what_happened(engine: AsyncEngine, bus: InProcessBus, sink: ListOutcomeSink) -> Day:
    """Decisions off the bus, each case's outcome and chain steps, the published outcomes."""
    day = Day()
    async for batch in bus.batches(INCIDENTS, "check"):
        for m in batch:
            r = decode_record(m.value)
            if isinstance(r, Outreach):
                day.decisions.append((r.incident_id, r.action, r.reason))
    store = CaseStore(engine)
    async with engine.connect() as conn:
        ids = [r[0] for r in (await conn.execute(sa.select(cases_table.c.case_id))).all()]
    for case_id in sorted(ids):
        case = await store.get(case_id)
        assert case is not None
        steps = tuple(
            (e.kind, str(e.data.get("action") or e.data.get("step")), str(e.data["reason"]))
            for e in await store.timeline(case_id) if e.kind in CHAIN_EVENTS
        )
        day.cases[case_id] = (case.outcome, steps)
    day.published = {r.case_id: r.outcome for r in sink.records}
    return day


def publisher(bus: InProcessBus) -> Callable[[Record], Awaitable[None]]:
    async def publish(r: Record) -> None:
        await bus.publish(INCIDENTS, (r.session_id or "").encode(), encode(r))

    return publish


async def demo_day(tmp_path: Path) -> Day:
    """The day through the demo's own assembly."""
    bus, sink = InProcessBus(), ListOutcomeSink()
    args = argparse.Namespace(dir=tmp_path / "demo", speed=SPEED, host="127.0.0.1", port=0)
    web = await start_web(args, DAY, publish=publisher(bus), sink=sink)
    try:
        live = web.live

        async def feed(batch: list[bytes]) -> None:
            await live.feed(batch)
            await live.advance(live.pipeline.engine.now)

        await play(bus, Settled(live, live.runtime), feed, live.finish)
        return await what_happened(web.engine, bus, sink)
    finally:
        await web.stop()


async def production_runtime(
    stack: AsyncExitStack, engine: AsyncEngine, sink: ListOutcomeSink
) -> CaseRuntime:
    """`firstcall outreach`'s runtime on this machine: chat gateway, Twilio (the stand-in)."""
    cases, channels = CaseStore(engine), dict[ChannelName, Channel]()
    runner = CaseRuntime(cases, DirectoryStore(engine), channels, sink,
                          config=demo_live_config(SPEED), queue=QueueStore(engine, cases))
    stack.push_async_callback(runner.aclose)
    standin = stack.enter_context(
        TwilioStandIn(auto_delay_s=RING_S / SPEED, status_of=demo_status))
    base = await stack.enter_async_context(serve_asgi(callback_app(runner, standin.auth_token)))
    gateway = await stack.enter_async_context(
        ChatGateway(Outbox(engine), secrets.token_bytes(16), runner.on_reply))
    phones = await stack.enter_async_context(twilio(standin, base))
    channels["chat"] = ChatChannel(gateway, ack_timeout_s=1.0)
    channels["call"], channels["sms"] = phones["call"], phones["sms"]  # type: ignore[assignment]
    return runner


async def production_day(tmp_path: Path) -> Day:
    """The day through the production assembly, with the demo's families."""
    bus, sink = InProcessBus(), ListOutcomeSink()
    engine = await open_database(str(tmp_path / "production.db"))
    await seed_demo_families(DirectoryStore(engine), demo_students(DAY))
    pending: list[Record] = []
    pipe = Pipeline(pending.append)
    publish = publisher(bus)

    async def flush() -> None:
        for r in pending:
            await publish(r)
        pending.clear()

    async def feed(batch: list[bytes]) -> None:
        pipe.feed_raw(batch)
        pipe.tick(pipe.engine.now)
        await flush()

    async def finish() -> None:
        pipe.finish()
        await flush()

    try:
        async with AsyncExitStack() as stack:
            runner = await production_runtime(stack, engine, sink)
            await play(bus, Settled(runner, runner), feed, finish)
        return await what_happened(engine, bus, sink)
    finally:
        await engine.dispose()


@pytest.fixture
async def days(tmp_path: Path) -> AsyncIterator[tuple[Day, Day]]:
    yield await demo_day(tmp_path), await production_day(tmp_path)


async def test_the_demo_and_production_decide_and_close_the_same_day_the_same_way(
        days: tuple[Day, Day]) -> None:
    demo, production = days
    assert demo.decisions == production.decisions
    assert demo.cases == production.cases
    assert demo.published == production.published
    assert set(demo.published) == set(demo.cases)  # every case ended with one outcome
    # The day is worth comparing: production's chain and rules, every way a case ends here.
    # (A blip that heals itself joins its family's case when the family has one: on this
    # day no family's case is only such blips, so none ends `self_recovered`.)
    outcomes = Counter(outcome for outcome, _ in demo.cases.values())
    assert {"infra_incident", "escalated", "resolved_by_call"} <= set(outcomes), outcomes
    steps = {step for _, chain in demo.cases.values() for step in chain}
    assert {("fallback", "call", "chat_unanswered"), ("fallback", "sms", "call_no_answer"),
            ("fallback", "done", "family_reached_by_call"),
            ("fallback", "agent_queue", "sms_unanswered"),
            ("fallback", "done", "notice_only")} <= steps, steps
