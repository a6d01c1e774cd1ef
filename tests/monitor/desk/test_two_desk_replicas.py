"""Two `firstcall serve` processes on one PostgreSQL case database, as behind a load balancer.

A claim on one replica reaches a console on the other within 2 s; after one replica is
killed (`kill -9`), a console reconnecting through the balancer lands on the other and
keeps working: it hears the next queued case and its API answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

import httpx
import pytest

from outreach.decide.clock import now_ms
from outreach.store.cases import CaseStore
from outreach.store.db import open_database
from outreach.store.queue import QueueStore
from outreach.store.users import UserStore
from tests.monitor.desk.test_desk_replicas import console, quiet, topics_within
from tests.outreach.store.test_queue_claims import incident
from tests.support.desk_replicas import fresh_database, healthy, replica
from tests.support.failover_proxy import FailoverProxy
from tests.support.kafka_broker import free_port

pytestmark = pytest.mark.postgres


async def test_a_claim_on_one_replica_is_seen_on_the_other_and_a_killed_one_is_survived() -> None:
    async with fresh_database() as dsn:
        engine = await open_database(dsn)
        try:
            users = UserStore(engine)
            ann, bob = await users.add("ann", "agent"), await users.add("bob", "agent")
            store = CaseStore(engine, now_ms)
            queue = QueueStore(engine, store, now_ms)  # the outreach service's side
            first = await store.record_incident(incident("lag-r1", "stu-1"), {})
            assert await queue.enqueue(first, "sms_unanswered")
            pa, pb = free_port(), free_port()
            a_url, b_url = f"http://127.0.0.1:{pa}", f"http://127.0.0.1:{pb}"
            with replica(dsn, pa) as a, replica(dsn, pb) as b:
                await healthy(a_url, a)
                await healthy(b_url, b)
                bob_on_b = await console(b_url, bob)
                await quiet(bob_on_b)
                async with httpx.AsyncClient() as http:
                    r = await http.post(f"{a_url}/api/cases/{first.case_id}/claim",
                                        headers={"Authorization": f"Bearer {ann}"})
                    assert r.status_code == 200
                    assert await topics_within(bob_on_b, "queue", 2.0) < 2.0
                    view = (await http.get(b_url + "/api/queue",
                                           headers={"Authorization": f"Bearer {bob}"})).json()
                    assert [(h["case_id"], h["owner"]) for h in view["held"]] == [
                        (first.case_id, "ann")]
                await bob_on_b.close()

                proxy = FailoverProxy([("127.0.0.1", pa), ("127.0.0.1", pb)])
                async with proxy.running() as lb:
                    ws = await console(lb, bob)  # through the balancer: lands on A
                    assert proxy.chosen == [0]
                    a.send_signal(signal.SIGKILL)
                    a.wait(timeout=10)
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(ws.recv(), 5)  # the socket breaks
                    ws = await console(lb, bob)  # the console's reconnect: now on B
                    assert proxy.chosen[-1] == 1
                    await quiet(ws)
                    second = await store.record_incident(incident("lag-r2", "stu-2"), {})
                    assert await queue.enqueue(second, "sms_unanswered")
                    assert await topics_within(ws, "queue", 1.0) < 1.0
                    async with httpx.AsyncClient(base_url=lb) as http:
                        view = (await http.get("/api/queue", headers={
                            "Authorization": f"Bearer {bob}"})).json()
                        assert [w["case_id"] for w in view["waiting"]] == [second.case_id]
                        r = await http.post(f"/api/cases/{second.case_id}/claim",
                                            headers={"Authorization": f"Bearer {bob}"})
                        assert r.status_code == 200, r.text
                    await ws.close()
        finally:
            await engine.dispose()
