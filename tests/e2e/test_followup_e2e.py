"""End to end: a lesson with a lag the family was texted about ends in a follow-up after the
lesson (the real Twilio library against the stand-in); a reply of "2" opens a follow-up case
for the agent who helped; Twilio's retry of that reply changes nothing.

The case database is SQLite and PostgreSQL; SMS replies come in through the service's
signed Twilio webhook app (`callback_app`), as Twilio posts them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from twilio.request_validator import RequestValidator

from detectors.records import Incident, case_id_for
from monitor.simulate.twilio_standin import TwilioStandIn
from monitor.streaming.bus_feed import ListOutcomeSink
from monitor.streaming.outreach_service import callback_app
from outreach.contact.followup import FollowupMetrics, FollowUps
from outreach.contact.followup_answers import FollowupAnswers
from outreach.contact.metrics import OutreachMetrics
from outreach.contact.runtime import CaseRuntime, RuntimeConfig
from outreach.decide.queue_rules import Agent, rank
from outreach.store.cases import CaseStore
from outreach.store.directory import DirectoryStore
from outreach.store.directory_import import import_file
from outreach.store.followups import FollowupStore
from outreach.store.queue import QueueStore
from tests.support.casedb import case_engine  # noqa: F401  (fixture)
from tests.support.channel_fakes import serve_asgi
from tests.support.live_support import FAMILIES, HEADER, decision, twilio, until

pytestmark = pytest.mark.timeout(60)
T0 = 1_767_258_000_000  # 2026-01-01 09:00 UTC (01:00 in Los Angeles: no quiet hours set)
LESSON_END = T0 + 25 * 60_000
JOE = "+14155550123"  # stu-sms's grandfather: SMS, English
MINUTE = 60_000


@dataclass
class Clock:
    """The one clock of the test (cases, queue, runtime, follow-ups)."""

    now: int = T0

    def __call__(self) -> int:
        return self.now


@dataclass
class School:
    """The outreach side of the school, wired as `firstcall outreach` wires it."""

    clock: Clock
    cases: CaseStore
    queue: QueueStore
    runner: CaseRuntime
    followups: FollowUps
    standin: TwilioStandIn
    base: str = ""
    texts: list[str] = field(default_factory=list)

    async def text_us(self, body: str, sid: str) -> httpx.Response:
        """Joe's SMS, posted and signed as Twilio does."""
        url = f"{self.base}/twilio/sms"
        form = {"From": JOE, "To": "+14155550100", "Body": body, "MessageSid": sid,
                "AccountSid": self.standin.account_sid, "NumMedia": "0"}
        signature = RequestValidator(self.standin.auth_token).compute_signature(url, form)
        async with httpx.AsyncClient() as client:
            return await client.post(url, data=form, headers={"X-Twilio-Signature": signature})

    def sms_bodies(self) -> list[str]:
        """Every SMS body Twilio was asked to send."""
        return [r.param("Body") or "" for r in self.standin.requests
                if r.method == "POST" and r.path.endswith("/Messages.json")]


@pytest.fixture
async def school(case_engine: AsyncEngine, tmp_path: Path) -> AsyncIterator[School]:  # noqa: F811
    clock = Clock()
    (tmp_path / "families.csv").write_text(HEADER + FAMILIES, encoding="utf-8")
    directory = DirectoryStore(case_engine)
    assert (await import_file(tmp_path / "families.csv", directory)).imported
    cases = CaseStore(case_engine, clock)
    queue = QueueStore(case_engine, cases, clock)
    with TwilioStandIn(auto_status="delivered", auto_delay_s=0.01) as standin:
        channels: dict = {}  # type: ignore[type-arg]
        metrics = OutreachMetrics.create()
        runner = CaseRuntime(cases, directory, channels, ListOutcomeSink(), metrics=metrics,
                             config=RuntimeConfig(close_wait_s=5), queue=queue, wall=clock)
        fmetrics = FollowupMetrics.create(metrics.registry)
        answers = FollowupAnswers(cases, fmetrics, queue=queue, wall=clock)
        followups = FollowUps(cases, directory, channels, fmetrics, queue=queue, wall=clock)
        app = callback_app(runner, standin.auth_token, answers=answers)
        s = School(clock, cases, queue, runner, followups, standin)
        async with serve_asgi(app) as base:
            s.base = base
            async with twilio(standin, base) as phone:
                channels.update(phone)
                try:
                    yield s
                finally:
                    await runner.aclose()


def lag(state: str, ended: int | None = None) -> Incident:
    """stu-sms's lag in the lesson (the same incident id for each state)."""
    return Incident("lag-stu-sms-1", "lag", state, T0, T0 + 5_000, ended,  # type: ignore[arg-type]
                    {"edge": "e1", "isp": "isp-a", "region": "west"}, {}, "sess-stu-sms",
                    "stu-sms", "room-1")  # fmt: skip


async def test_a_texted_lag_ends_in_a_follow_up_and_a_2_opens_a_case_for_the_same_agent(
    school: School,
) -> None:
    s = school
    case_id = case_id_for("lag-stu-sms-1")
    # The lesson: the family's class stutters; the policy texts the family.
    await s.runner.handle(lag("open"))
    await s.queue.save_context(case_id, {"session_id": "sess-stu-sms", "lesson_end": LESSON_END})
    await s.runner.handle(decision(lag("open"), "sms"))
    await until(lambda: len(s.sms_bodies()) == 1)
    assert "Reply 1" in s.sms_bodies()[0]
    # Joe asks for a call (1); agent Li takes the case and solves it by phone.
    s.clock.now = T0 + 2 * MINUTE
    assert "call you back" in (await s.text_us("1", "SM-call-me")).text
    await until(lambda: _state(s, case_id, "waiting_agent"))
    assert await s.queue.claim(case_id, "agent-li") is None
    s.clock.now = T0 + 6 * MINUTE
    resolved = await s.queue.resolve(case_id, "agent-li", "resolved_by_call", "router restarted")
    assert not hasattr(resolved, "reason")

    # Closed during the lesson: scheduled, but nothing is sent while the class is on.
    assert await s.followups.sweep(T0 + 7 * MINUTE) == []
    f = await FollowupStore(s.cases.engine).get(case_id)
    assert f is not None and f.due_at >= LESSON_END and f.agent == "agent-li"
    assert await s.followups.sweep(LESSON_END) == []
    assert len(s.sms_bodies()) == 1
    # After the lesson: the question goes out by SMS, once.
    s.clock.now = f.due_at
    assert await s.followups.sweep(f.due_at) == [case_id]
    assert await s.followups.sweep(f.due_at + MINUTE) == []
    bodies = s.sms_bodies()
    assert len(bodies) == 2 and bodies[1].startswith("Hello from your child's online class")
    assert "How did we do today? Reply 1-5" in bodies[1]

    # Two days later Joe answers 2 with a comment: a follow-up case for agent Li, 24 h SLA.
    s.clock.now = f.due_at + 2 * 86_400_000
    answer = await s.text_us("2 the sound kept cutting out", "SM-score")
    assert "The technician who helped you will get in touch soon." in answer.text
    follow_id = case_id_for(f"satisfaction-{case_id}")
    rows = {r.case_id: r for r in await s.queue.rows()}
    assert rows[follow_id].kind == "satisfaction" and rows[follow_id].reason == "low_score"
    sticky = await FollowupStore(s.cases.engine).sticky_agents([follow_id])
    agents = [Agent("agent-wu", True, idle_since=1), Agent("agent-li", True, idle_since=9)]
    [ranked] = rank([rows[follow_id].waiting()], s.clock.now, agents, sticky)
    assert ranked.offered_to == "agent-li"  # Wu has been idle longer: the routing is sticky
    assert ranked.sla_left_ms == 86_400_000
    satisfaction = [e.data for e in await s.cases.timeline(case_id) if e.kind == "satisfaction"]
    assert satisfaction == [{"score": 2, "comment": "the sound kept cutting out",
                             "agent": "agent-li", "reply_id": "SM-score",
                             "follow_up": "low_score"}]

    # Twilio posts the same reply again: nothing changes, the family is thanked again.
    again = await s.text_us("2 the sound kept cutting out", "SM-score")
    assert "get in touch" in again.text
    assert [e.kind for e in await s.cases.timeline(case_id)].count("satisfaction") == 1
    assert [r.case_id for r in await s.queue.rows()].count(follow_id) == 1
    assert (await FollowupStore(s.cases.engine).get(case_id)).score == 2  # type: ignore[union-attr]
    # The follow-up case is not followed up itself, and Joe is not asked again.
    assert await s.followups.sweep(s.clock.now + 86_400_000) == []
    assert len(s.sms_bodies()) == 2


async def _state(s: School, case_id: str, state: str) -> bool:
    case = await s.cases.get(case_id)
    return case is not None and case.state == state
