"""Goodwill offers in the desk API: one click and a reason; who may decide which offer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident
from monitor.desk.app import create_app
from monitor.desk.desk import Desk
from monitor.desk.ring import TelemetryRing
from outreach.decide.goodwill import Member, Proposal
from outreach.store.cases import CaseStore
from outreach.store.goodwill import GoodwillStore
from outreach.store.queue import QueueStore
from outreach.store.users import UserStore
from tests.support.casedb import case_engine  # noqa: F401
from tests.support.goodwill_receiver import school_rows

T0 = 1_767_258_000_000
USERS = (("ann", "agent"), ("bob", "agent"), ("olga", "ops"), ("vic", "viewer"))


@dataclass
class Client:
    http: httpx.AsyncClient
    engine: AsyncEngine
    tokens: dict[str, str]
    cases: dict[str, str]  # name -> case id

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


async def family_case(store: CaseStore, n: int, student: str, session: str) -> str:
    case = await store.record_incident(Incident(
        incident_id=f"inc-{n}", kind="disconnect", state="closed", started_at=T0,
        detected_at=T0 + 5_000, ended_at=T0 + 900_000, line={"edge": "e1"}, evidence={},
        session_id=session, student_id=student, classroom_id="room-1"), {})
    return case.case_id


@pytest.fixture
async def api(case_engine: AsyncEngine) -> AsyncIterator[Client]:  # noqa: F811
    def clock() -> int:
        return T0 + 3_600_000

    store = CaseStore(case_engine, clock)
    queue = QueueStore(case_engine, store, clock)
    users = UserStore(case_engine, clock)
    tokens = {name: await users.add(name, role) for name, role in USERS}
    goodwill = GoodwillStore(case_engine, clock)
    free = await family_case(store, 1, "stu-1", "s1")
    held = await family_case(store, 2, "stu-2", "s2")
    case = await store.get(held)
    assert case is not None
    await queue.enqueue(case, "no_answer")
    assert await queue.claim(held, "bob") is None
    line = (await store.record_incident(Incident(
        incident_id="line-e1", kind="line", state="closed", started_at=T0, detected_at=T0,
        ended_at=T0 + 900_000, line={"edge": "e1"}, evidence={}, sessions=["s1", "s2"]), {}
    )).case_id
    for cid, student in ((free, "stu-1"), (held, "stu-2")):
        await goodwill.propose(Proposal(cid, "makeup", False, 15.0,
                                        (Member(cid, student, "room-1", 15.0),), "15 min"))
    fams = await goodwill.line_families(line)
    await goodwill.propose(Proposal(line, "makeup", True, 30.0, tuple(fams), "line"))
    app = create_app(Desk(store, queue, TelemetryRing(), clock), users)
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://desk") as http:
        yield Client(http, case_engine, tokens, {"free": free, "held": held, "line": line})


async def test_an_agent_confirms_a_familys_offer_with_one_click_and_a_reason(
        api: Client) -> None:
    cid = api.cases["free"]
    r = await api.http.post(f"/api/goodwill/{cid}/confirm", headers=api.auth("ann"),
                            json={"reason": "lost 15 minutes of maths"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["state"], got["decided_by"], got["decision_reason"]) == (
        "confirmed", "ann", "lost 15 minutes of maths")
    again = await api.http.post(f"/api/goodwill/{cid}/decline", headers=api.auth("ann"),
                                json={"reason": "oops"})
    assert (again.status_code, again.json()["error"]) == (409, "already_decided")
    hooks = await school_rows(api.engine)
    assert [h.message_id for h in hooks] == [cid]
    listed = await api.http.get("/api/goodwill?state=confirmed", headers=api.auth("vic"))
    assert [o["case_id"] for o in listed.json()["offers"]] == [cid]


async def test_a_decision_needs_a_reason(api: Client) -> None:
    r = await api.http.post(f"/api/goodwill/{api.cases['free']}/decline",
                            headers=api.auth("ann"), json={})
    assert (r.status_code, r.json()["error"]) == (422, "missing_field")
    r = await api.http.post(f"/api/goodwill/{api.cases['free']}/decline",
                            headers=api.auth("ann"), json={"reason": "x" * 501})
    assert (r.status_code, r.json()["error"]) == (422, "reason_too_long")


async def test_an_agent_cannot_decide_on_a_case_another_agent_holds(api: Client) -> None:
    cid = api.cases["held"]
    r = await api.http.post(f"/api/goodwill/{cid}/confirm", headers=api.auth("ann"),
                            json={"reason": "mine now"})
    assert (r.status_code, r.json()["error"]) == (403, "not_your_case")
    r = await api.http.post(f"/api/goodwill/{cid}/confirm", headers=api.auth("bob"),
                            json={"reason": "my family lost the lesson"})
    assert r.status_code == 200 and r.json()["decided_by"] == "bob"


async def test_a_viewer_reads_offers_but_decides_none(api: Client) -> None:
    listed = await api.http.get("/api/goodwill?state=proposed", headers=api.auth("vic"))
    assert listed.status_code == 200
    assert len(listed.json()["offers"]) == 3
    for cid in api.cases.values():
        r = await api.http.post(f"/api/goodwill/{cid}/confirm", headers=api.auth("vic"),
                                json={"reason": "sure"})
        assert (r.status_code, r.json()["error"]) == (403, "forbidden")
    assert (await api.http.get("/api/goodwill?state=bogus", headers=api.auth("vic"))
            ).status_code == 400
    assert not await school_rows(api.engine)


async def test_a_line_incidents_bulk_offer_is_one_ops_confirmation(api: Client) -> None:
    line = api.cases["line"]
    r = await api.http.post(f"/api/goodwill/{line}/confirm", headers=api.auth("ann"),
                            json={"reason": "edge outage"})
    assert (r.status_code, r.json()["error"]) == (403, "ops_decides_bulk")
    r = await api.http.post(f"/api/goodwill/{api.cases['free']}/confirm",
                            headers=api.auth("olga"), json={"reason": "edge outage"})
    assert (r.status_code, r.json()["error"]) == (403, "agent_decides_family")
    r = await api.http.post(f"/api/goodwill/{line}/confirm", headers=api.auth("olga"),
                            json={"reason": "edge-1 outage took the class"})
    assert r.status_code == 200, r.text
    assert r.json()["families"] == 2
    hooks = await school_rows(api.engine)
    assert sorted(h.message_id for h in hooks) == sorted([api.cases["free"], api.cases["held"]])
    r = await api.http.post("/api/goodwill/nope/confirm", headers=api.auth("olga"),
                            json={"reason": "x"})
    assert (r.status_code, r.json()["error"]) == (404, "no_such_offer")
