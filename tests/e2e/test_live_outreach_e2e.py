# ruff: noqa: RUF001
"""End to end on the in-process bus: simulated school -> Pipeline -> incidents -> cases ->
outreach (real Twilio library against the stand-in, real chat gateway, webhook page) ->
outcomes on `support.outcomes`."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import ClientConnection, connect

from detectors.records import Incident, Outreach, Record, encode
from monitor.platform.kafka_settings import Topics
from monitor.simulate import FaultRates, SimConfig, simulate
from monitor.simulate.twilio_standin import TwilioStandIn
from monitor.streaming.assembly import Pipeline
from monitor.streaming.bus import InProcessBus
from monitor.streaming.bus_feed import BusOutcomeSink, run_bus
from outreach.channels.chat import ChatChannel
from outreach.channels.chat_gateway import ChatGateway
from outreach.channels.chat_tokens import make_token
from outreach.channels.twilio_callbacks import create_app, timeline_sink
from outreach.channels.webhook import WebhookPager
from outreach.contact.chain import Waits
from outreach.contact.metrics import OutreachMetrics
from outreach.contact.runtime import CaseRuntime, RuntimeConfig
from outreach.store.cases import CaseStore
from outreach.store.directory import DirectoryStore
from outreach.store.directory_import import import_file
from outreach.store.outbox import Outbox
from tests.support.casedb import case_engine  # noqa: F401
from tests.support.channel_fakes import serve_asgi
from tests.support.live_support import Pages, twilio

pytestmark = pytest.mark.timeout(120)
INCIDENTS = "support.incidents"
OUTCOMES_TOPIC = Topics().outcomes
SPEED = 400.0  # simulated seconds per wall second
SECRET = b"e2e-chat"
FAULTS = FaultRates(
    edge_outage_per_edge_hour=1.0, crash_no_return=0.08, flapping_wifi=0.1, cellular_fade=0.4
)
SCHOOL = SimConfig(
    seed=4, classrooms=8, lesson_minutes_min=12, lesson_minutes_max=15, faults=FAULTS
)


def decided(config: SimConfig) -> list[tuple[int, Record]]:
    """Every incident and outreach record of the day, with the event time it was decided at."""
    out: list[tuple[int, Record]] = []
    pipe = Pipeline(lambda r: out.append((max([pipe.engine.now, *[t for t, _ in out[-1:]]]), r)))
    lines = list(simulate(config).lines())
    for i in range(0, len(lines), 200):
        pipe.feed_raw(lines[i : i + 200])
    pipe.finish()
    return out


def family_rows(students: list[str]) -> str:
    """Grandparents to call; every 5th family is in its quiet hours, every 7th asked for none."""
    rows = [
        "student_id,student_name,guardian_name,phone,relation,preferred_channel,"
        "language,time_zone,quiet_hours,do_not_call"
    ]
    for i, sid in enumerate(students):
        quiet = "16:00-20:00" if i % 5 == 1 else ""  # 09:00 UTC is 17:00 in Shanghai
        dnc = "yes" if i % 7 == 3 else "no"
        rows.append(f"{sid},学生{i},奶奶{i},+86138{i:08d},grandmother,call,zh-CN,"
                    f"Asia/Shanghai,{quiet},{dnc}")  # fmt: skip
    return "\n".join(rows) + "\n"


async def class_app(gateway: ChatGateway, student: str, answers: bool) -> None:
    """A family's class app: shows (acks) every message; some families answer `好了`."""
    token = make_token(student, SECRET, int(time.time()) + 3600)
    ws: ClientConnection
    async with connect(f"{gateway.url}?token={token}") as ws:
        async for raw in ws:
            frame = json.loads(raw)
            if frame.get("type") != "message":
                continue
            await ws.send(json.dumps({"type": "ack", "id": frame["id"]}))
            if answers:
                reply = {"type": "reply", "id": f"r-{frame['id']}", "text": "好了，谢谢",
                         "in_reply_to": frame["id"]}  # fmt: skip
                await ws.send(json.dumps(reply, ensure_ascii=False))


async def paced(bus: InProcessBus, records: list[tuple[int, Record]]) -> None:
    """Publish the records on `support.incidents` at SPEED times their event-time pace."""
    loop = asyncio.get_running_loop()
    wall0, t0 = loop.time(), records[0][0]
    for t, r in records:
        delay = wall0 + (t - t0) / 1000 / SPEED - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        await bus.publish(INCIDENTS, (r.session_id or "").encode(), encode(r))
    await bus.close(INCIDENTS)


async def test_simulated_school_to_outcomes(
    case_engine: AsyncEngine,  # noqa: F811
    tmp_path: Path,
) -> None:
    records = decided(SCHOOL)
    incidents = [r for _, r in records if isinstance(r, Incident)]
    lines = [i for i in incidents if i.kind == "line" and i.state == "open"]
    students = sorted({i.student_id for i in incidents if i.student_id})
    assert lines and len(students) > 20
    engine = case_engine
    cases, directory = CaseStore(engine), DirectoryStore(engine)
    (tmp_path / "families.csv").write_text(family_rows(students), encoding="utf-8")
    assert (await import_file(tmp_path / "families.csv", directory)).imported
    bus, pages, metrics = InProcessBus(), Pages([]), OutreachMetrics.create()
    quiet = {s for i, s in enumerate(students) if i % 5 == 1}
    no_calls = {s for i, s in enumerate(students) if i % 7 == 3}
    answering = {s for i, s in enumerate(students) if i % 3 == 0}
    runner: CaseRuntime | None = None

    async def on_callback(event: object) -> None:
        assert runner is not None
        await runner.on_callback(event)  # type: ignore[arg-type]

    async def on_reply(reply: object) -> None:
        assert runner is not None
        await runner.on_reply(reply)  # type: ignore[arg-type]

    with TwilioStandIn(auto_status="no-answer", auto_delay_s=0.05) as standin:
        standin.script_outcomes("completed", "completed")  # the first two calls are answered
        async with AsyncExitStack() as stack:
            callbacks = create_app(standin.auth_token, timeline_sink(cases, on_callback))
            base = await stack.enter_async_context(serve_asgi(callbacks))
            hook = await stack.enter_async_context(serve_asgi(pages.app()))
            gateway = await stack.enter_async_context(
                ChatGateway(Outbox(engine), SECRET, on_reply)  # type: ignore[arg-type]
            )
            phones = await stack.enter_async_context(twilio(standin, base))
            channels = {**phones, "chat": ChatChannel(gateway, ack_timeout_s=0.5)}
            runner = CaseRuntime(
                cases, directory, channels, BusOutcomeSink(bus, OUTCOMES_TOPIC),
                config=RuntimeConfig(Waits(chat_s=0.15, call_s=1.0, sms_s=0.2)), metrics=metrics,
                pager=WebhookPager(f"{hook}/page"),
            )  # fmt: skip
            apps = [asyncio.create_task(class_app(gateway, s, s in answering)) for s in students]
            await asyncio.sleep(0.2)
            consume = asyncio.create_task(run_bus(runner, bus, INCIDENTS))
            await paced(bus, records)
            await asyncio.wait_for(consume, 30)
            await runner.drain()
            never_ended = await runner.close_stale(0)  # the end of the school day
            for task in apps:
                task.cancel()
            await asyncio.gather(*apps, return_exceptions=True)

    await bus.close(OUTCOMES_TOPIC)
    outcomes = [
        orjson.loads(m.value)
        async for b in bus.batches(OUTCOMES_TOPIC, "classroom-team")
        for m in b
    ]
    by_case = Counter(o["case_id"] for o in outcomes)
    # One family, one case: every incident is on a case, a family's incidents on one at a time.
    on_case = {i.incident_id: await runner.joins.case_of(i.incident_id) for i in incidents}
    every_case = {case.case_id for case in on_case.values() if case is not None}
    assert len(every_case) < len(on_case) and None not in on_case.values()
    assert never_ended and set(by_case) == every_case and max(by_case.values()) == 1
    for cid in every_case:
        case = await cases.get(cid)
        assert case is not None and case.state == "closed" and case.outcome is not None
        assert 0 <= (case.lesson_minutes_lost or 0) <= 20
    kinds = Counter(o["outcome"] for o in outcomes)
    assert kinds["infra_incident"] >= len(lines), kinds
    paths = {"resolved_by_chat", "resolved_by_call", "no_answer", "escalated", "do_not_contact"}
    assert paths | {"self_recovered"} <= set(kinds), kinds

    # Each line incident paged once; no phone rang for a session inside a line incident.
    assert sorted(p["incident_id"] for p in pages.got) == sorted(i.incident_id for i in lines)
    covered = {
        on_case[o.incident_id].case_id for _, o in records  # type: ignore[union-attr]
        if isinstance(o, Outreach) and o.reason == "covered_by_line_incident"
    }  # fmt: skip
    phoned = Counter()
    for req in standin.requests:
        if req.method == "POST" and req.param("StatusCallback"):
            query = urllib.parse.parse_qs(
                urllib.parse.urlsplit(req.param("StatusCallback") or "").query
            )
            phoned[(query["case_id"][0], query["channel"][0])] += 1
    assert phoned, "some family must have been phoned"
    assert not {cid for cid, _ in phoned} & covered
    assert max(phoned.values()) == 1  # never a second call (or SMS) for one case
    assert {channel for _, channel in phoned} == {"call", "sms"}
    called_students = {(await cases.get(cid)).student_id for cid, _ in phoned}  # type: ignore[union-attr]
    assert not called_students & (quiet | no_calls)
    sample = metrics.registry.get_sample_value
    assert sample("firstcall_outreach_suppressions_total", {"reason": "covered_by_line_incident"})
