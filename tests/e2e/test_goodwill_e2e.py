"""End to end: a long outage proposes make-up lessons on the families' cases, an agent
confirms them in the desk API, and the school's scheduling webhook (on loopback, checking
signatures) receives each once, also after the sender restarts. A short blip earns nothing;
a line incident proposes one bulk offer that ops confirms once for every family on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident, Outreach, case_id_for
from monitor.desk.app import create_app
from monitor.desk.live import LiveDesk, LiveOptions, SimClock
from monitor.streaming.bus_feed import ListOutcomeSink
from outreach.channels.goodwill_hook import SchedulingHook
from outreach.contact.goodwill import (
    GoodwillMetrics,
    GoodwillProposer,
    GoodwillSink,
    HookDispatcher,
)
from outreach.decide.decision import PolicyConfig
from outreach.decide.goodwill import GoodwillRules
from outreach.store.cases import CaseStore
from outreach.store.goodwill import GoodwillStore
from outreach.store.outbox import Outbox
from outreach.store.users import UserStore
from tests.support.casedb import case_engine  # noqa: F401
from tests.support.goodwill_receiver import Receiver, start_receiver

T0 = 1_767_258_000_000
KEY = b"school-key"
MIN = 60_000


@dataclass
class School:
    live: LiveDesk
    engine: AsyncEngine
    http: httpx.AsyncClient
    tokens: dict[str, str]
    receiver: Receiver
    outcomes: ListOutcomeSink
    metrics: GoodwillMetrics

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def dispatcher(self) -> HookDispatcher:
        """A freshly started sender (as after a restart) on the same database."""
        hook = SchedulingHook(self.receiver.url, KEY, timeout_s=5)
        return HookDispatcher(GoodwillStore(self.engine), hook, self.metrics)

    async def problem(self, n: int, student: str, minutes: float, *, kind: str = "disconnect",
                      start: int = T0 + MIN) -> str:
        """A session problem of `minutes`, decided on (no contact), over."""
        iid, sid = f"{kind}-{n}", f"sess-{n}"
        inc = Incident(incident_id=iid, kind=kind, state="open",  # type: ignore[arg-type]
                       started_at=start, detected_at=start + 10_000, ended_at=None,
                       line={"edge": "edge-1"}, evidence={}, session_id=sid,
                       student_id=student, classroom_id="room-a")
        await self.live.handle(inc)
        await self.live.handle(Outreach(iid, case_id_for(iid), sid, student, "none",
                                        "hold_off", start + 20_000))
        end = start + int(minutes * MIN)
        await self.live.handle(replace(inc, state="closed", ended_at=end,
                                           detected_at=end))
        return case_id_for(iid)


@pytest.fixture
async def school(case_engine: AsyncEngine) -> AsyncIterator[School]:  # noqa: F811
    receiver, runner = await start_receiver(KEY)
    clock = SimClock(T0)
    cases, metrics = CaseStore(case_engine, clock), GoodwillMetrics.create()
    outcomes = ListOutcomeSink()
    proposer = GoodwillProposer(cases, GoodwillStore(case_engine, clock), GoodwillRules(), metrics)
    live = LiveDesk(case_engine, clock, LiveOptions(
        policy=PolicyConfig(), sink=GoodwillSink(outcomes, proposer)))
    users = UserStore(case_engine, clock)
    tokens = {n: await users.add(n, r) for n, r in (("ann", "agent"), ("olga", "ops"))}
    app = create_app(live.desk, users)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                 base_url="http://desk") as http:
        yield School(live, case_engine, http, tokens, receiver, outcomes, metrics)
    await live.runtime.aclose()
    await runner.cleanup()


async def close_all(school: School) -> None:
    """Time passes: the families have been fine long enough, their cases close."""
    reopen = PolicyConfig().case_reopen_ms
    await school.live.runtime.close_quiet(T0 + 60 * MIN + reopen)


async def test_a_long_outage_is_made_good_once_per_family(school: School) -> None:
    long_1 = await school.problem(1, "stu-1", 14)
    long_2 = await school.problem(2, "stu-2", 12)
    blip = await school.problem(3, "stu-3", 2)
    await close_all(school)
    assert {r.case_id for r in school.outcomes.records} >= {long_1, long_2, blip}

    proposed = (await school.http.get("/api/goodwill?state=proposed",
                                      headers=school.auth("ann"))).json()["offers"]
    assert sorted((o["case_id"], o["kind"]) for o in proposed) == sorted(
        [(long_1, "makeup"), (long_2, "makeup")])
    assert school.metrics.proposals.labels("below_threshold")._value.get() == 1

    for cid in (long_1, long_2):
        r = await school.http.post(f"/api/goodwill/{cid}/confirm", headers=school.auth("ann"),
                                   json={"reason": "lost most of the lesson"})
        assert r.status_code == 200, r.text

    assert await school.dispatcher().deliver_pending() == 2
    assert await school.dispatcher().deliver_pending() == 0  # restarted: nothing twice
    assert school.receiver.accepted == {long_1: 1, long_2: 1}
    assert school.receiver.bodies[long_1]["student_id"] == "stu-1"
    assert school.receiver.bad_signatures == 0

    timeline = [e.kind for e in await CaseStore(school.engine).timeline(long_1)]
    for kind in ("outcome_published", "goodwill_proposed", "goodwill_confirmed",
                 "goodwill_delivered"):
        assert timeline.count(kind) == 1, kind
    family = await Outbox(school.engine).pending("stu-1")
    assert [m.payload.get("goodwill") for m in family] == ["makeup"]


async def test_a_line_incident_is_one_bulk_offer_for_ops(school: School) -> None:
    fams = [await school.problem(n, f"stu-{n}", 3) for n in (1, 2, 3)]
    line = Incident(incident_id="line-edge-1", kind="line", state="open", started_at=T0 + MIN,
                    detected_at=T0 + MIN + 30_000, ended_at=None, line={"edge": "edge-1"},
                    evidence={}, sessions=["sess-1", "sess-2", "sess-3"])
    await school.live.handle(line)
    await school.live.handle(replace(line, state="closed",
                                         ended_at=T0 + 5 * MIN))
    await close_all(school)
    offers = (await school.http.get("/api/goodwill", headers=school.auth("olga"))).json()
    [bulk] = [o for o in offers["offers"] if o["bulk"]]
    assert bulk["case_id"] == case_id_for("line-edge-1")
    assert sorted(m["case_id"] for m in bulk["members"]) == sorted(fams)
    r = await school.http.post(f"/api/goodwill/{bulk['case_id']}/confirm",
                               headers=school.auth("olga"), json={"reason": "edge-1 outage"})
    assert r.status_code == 200, r.text
    assert await school.dispatcher().deliver_pending() == 3
    assert await school.dispatcher().deliver_pending() == 0
    assert school.receiver.accepted == {cid: 1 for cid in fams}
