"""End to end over Kafka: telemetry -> workers (one SIGKILLed and restarted) + correlator ->
incidents and decisions -> `firstcall outreach`'s runner (itself restarted mid-stream) ->
Twilio stand-in, webhook page -> outcomes on `support.outcomes`; no incident rings twice."""

from __future__ import annotations

import asyncio
import urllib.parse
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaProducer

from bench.kafka_probe import committed_total
from monitor.platform.kafka_settings import KafkaSettings
from monitor.simulate.twilio_standin import TwilioStandIn
from monitor.streaming.assembly import replay_records
from monitor.streaming.outcomes_kafka import KafkaOutcomeSink
from monitor.streaming.outreach_kafka import KafkaOutreach
from outreach.channels.twilio_callbacks import create_app, timeline_sink
from outreach.channels.webhook import WebhookPager
from outreach.contact.chain import Waits
from outreach.contact.runtime import CaseRuntime, RuntimeConfig
from outreach.decide.signals import CallbackEvent, MenuChoice
from outreach.store.cases import CaseStore
from outreach.store.db import make_engine, upgrade
from outreach.store.directory import DirectoryStore
from outreach.store.directory_import import import_file
from outreach.store.models import case_events, case_incidents
from outreach.store.models import cases as cases_table
from tests.support.channel_fakes import serve_asgi
from tests.support.kafka_helpers import (
    T0,
    collect,
    create_topics,
    isolated_settings,
    join,
    stats,
    values,
)
from tests.support.kafka_procs import Proc
from tests.support.kafka_school import MINUTE, school_events, school_lines, session_of
from tests.support.live_support import Pages, twilio

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]


@dataclass
class Outreach:
    """One incarnation of the outreach service (a runner and its Kafka feed)."""

    runner: CaseRuntime
    feed: KafkaOutreach
    task: asyncio.Task[None]

    async def die(self) -> None:
        """Stop without a goodbye: chains cancelled, the batch in hand not committed."""
        self.task.cancel()
        await self.runner.aclose()
        await asyncio.gather(self.task, return_exceptions=True)


def school_with_a_crash() -> tuple[list[bytes], list[tuple[int, bytes]]]:
    """The Kafka school plus `s99`, whose app crashes at minute 2 and never comes back."""
    crash = [join("s99", T0 + 500, classroom="room-9", edge="e2")]
    crash += [stats("s99", t, classroom="room-9") for t in range(T0 + 2500, T0 + 2 * MINUTE, 2000)]
    events = sorted([*school_events(), *crash], key=lambda e: (e["ts"], e["session_id"]))
    _, tail = school_lines(4)
    return [orjson.dumps(e) for e in events], tail


async def on_cases(store: CaseStore, incident_ids: set[str]) -> tuple[int, int]:
    """How many of the incidents are on a case, and how many decisions the cases hold."""
    async with store.engine.connect() as conn:
        joined = (await conn.execute(sa.select(sa.func.count()).select_from(case_incidents).where(
            case_incidents.c.incident_id.in_(incident_ids)))).scalar_one()
        noted = (await conn.execute(sa.select(sa.func.count()).select_from(case_events).where(
            case_events.c.kind == "decision"))).scalar_one()
    return int(joined), int(noted)


async def wait_committed(s: KafkaSettings, group: str, topic: str, at_least: int) -> None:
    async with asyncio.timeout(60):
        while await committed_total(s.bootstrap, group, topic, 4) < at_least:
            await asyncio.sleep(0.2)


async def test_restarts_in_the_middle_make_no_second_call(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    lines, tail = school_with_a_crash()
    expected = replay_records([*lines, *(line for _, line in tail)])
    incident_ids = {str(r["incident_id"]) for r in expected if r["record"] == "incident"}
    decided = {str(r["incident_id"]) for r in expected if r["record"] == "outreach"}
    students = sorted({str(r["student_id"]) for r in expected if r.get("student_id")})
    s = isolated_settings(kafka_bootstrap, clock="event")
    await create_topics(s)
    cut = len(lines) * 42 // 100
    crashed = next(
        str(r["case_id"])
        for r in expected
        if r.get("session_id") == "s99" and r["record"] == "outreach"
    )

    engine = make_engine(str(tmp_path / "cases.db"))
    await upgrade(engine)
    cases, directory = CaseStore(engine), DirectoryStore(engine)
    rows = ["student_id,student_name,guardian_name,phone,relation"]
    rows += [f"{sid},S{i},G{i},+86139{i:08d},grandmother" for i, sid in enumerate(students)]
    (tmp_path / "families.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert (await import_file(tmp_path / "families.csv", directory)).imported
    pages = Pages([])
    current: list[Outreach] = []

    async def on_callback(event: CallbackEvent | MenuChoice) -> None:
        await current[-1].runner.on_callback(event)

    correlator = Proc("correlator", s).start()
    workers = [Proc("worker", s).start(), Proc("worker", s).start()]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=5)
    await producer.start()

    async def send(chunk: list[bytes]) -> None:
        futs = [await producer.send(s.topics.telemetry, v, key=session_of(v)) for v in chunk]
        await asyncio.gather(*futs)

    with TwilioStandIn(auto_status="no-answer", auto_delay_s=0.05) as standin:
        async with AsyncExitStack() as stack:
            base = await stack.enter_async_context(
                serve_asgi(create_app(standin.auth_token, timeline_sink(cases, on_callback)))
            )
            hook = await stack.enter_async_context(serve_asgi(pages.app()))
            phones = await stack.enter_async_context(twilio(standin, base))
            sink = KafkaOutcomeSink.connect(kafka_bootstrap, s.topics.outcomes)
            await sink.start()
            stack.push_async_callback(sink.stop)

            def start(group: str) -> Outreach:
                runner = CaseRuntime(
                    cases, directory, phones, sink,  # type: ignore[arg-type]
                    config=RuntimeConfig(Waits(chat_s=0.05, call_s=1.0, sms_s=0.3)),
                    pager=WebhookPager(f"{hook}/page"),
                )  # fmt: skip
                feed = KafkaOutreach(s, runner, group=group)
                made = Outreach(runner, feed, asyncio.create_task(feed.run(asyncio.Event())))
                current.append(made)
                return made

            try:
                first = start("outreach-a")
                await send(lines[:cut])
                await wait_committed(s, s.worker_group, s.topics.telemetry, cut)
                workers[0].kill()
                async with asyncio.timeout(60):  # s99's grandmother is being called
                    while not any(
                        crashed in (r.param("StatusCallback") or "") for r in standin.requests
                    ):
                        await asyncio.sleep(0.05)
                await first.die()  # the outreach service dies in the middle of the call
                await send(lines[cut : cut + 1500])
                workers.append(Proc("worker", s).start())
                # A new group: the new runner is handed every record again from the start.
                second = start("outreach-b")
                assert await second.runner.resume() == [crashed]  # carries on after the call
                await send(lines[cut + 1500 :])
                futs = [
                    await producer.send(s.topics.telemetry, v, key=session_of(v), partition=p)
                    for p, v in tail
                ]
                await asyncio.gather(*futs)
                async with asyncio.timeout(120):  # every incident on its case, and decided
                    while await on_cases(cases, incident_ids) < (len(incident_ids), len(decided)):
                        await asyncio.sleep(0.5)
                await current[-1].runner.drain()
                # The end of the day: families fine since are over, s99 never came back.
                await current[-1].runner.close_quiet(T0 + 24 * 60 * MINUTE)
                assert await current[-1].runner.close_stale(0) == [crashed]
                await current[-1].runner.drain()
                outcomes = [
                    r
                    for r in values(await collect(kafka_bootstrap, s.topics.outcomes, idle_s=0.5))
                    if r["record"] == "outcome"
                ]
                async with engine.connect() as conn:
                    case_ids = set((await conn.execute(sa.select(cases_table.c.case_id))).scalars())
            finally:
                await producer.stop()
                await current[-1].die()
                for p in (*workers, correlator):
                    p.stop()

    by_case = Counter(r["case_id"] for r in outcomes)
    assert set(by_case) == case_ids and set(by_case.values()) == {1}  # each once
    kinds = Counter(r["outcome"] for r in outcomes)
    assert kinds["infra_incident"] >= 3 + 23, kinds  # 3 line cases, 23 covered sessions
    lines_paged = Counter(str(p["incident_id"]) for p in pages.got)
    assert len(lines_paged) == 3 and set(lines_paged.values()) == {1}
    phoned: Counter[tuple[str, str]] = Counter()
    for req in standin.requests:
        callback = req.param("StatusCallback") if req.method == "POST" else None
        if callback:
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(callback).query)
            phoned[(query["case_id"][0], query["channel"][0])] += 1
    assert phoned[(crashed, "call")] == 1, "the crashed student's family was called once"
    assert phoned[(crashed, "sms")] == 1, "then the fallback SMS, by the restarted service"
    assert max(phoned.values()) == 1, f"a second call or SMS: {phoned}"
    [last] = [r["outcome"] for r in outcomes if r["case_id"] == crashed]
    assert last == "escalated"  # SMS unanswered -> the technicians' queue
    await engine.dispose()
