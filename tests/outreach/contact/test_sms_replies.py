# ruff: noqa: RUF001  (Chinese replies use full-width punctuation on purpose)
"""Families answer our SMS: signed Twilio webhooks through the real HTTP server, into cases.

Requests are signed as Twilio signs them (twilio's RequestValidator, keyed by the auth
token, over the URL and the form), the runner uses fake channels (tests.support.channel_fakes).
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import pytest
from twilio.request_validator import RequestValidator

from detectors.records import case_id_for
from monitor.platform.logging import REDACTED, configure, reset
from monitor.platform.settings import ServiceSection
from outreach.channels.twilio_callbacks import create_app, timeline_sink
from outreach.channels.twilio_inbound import DEFAULT_SMS_PATH
from outreach.contact.chain import Waits
from outreach.contact.sms_replies import SmsReplies
from outreach.decide.case_states import Refusal
from outreach.decide.queue_rules import Agent, rank
from outreach.decide.signals import CallbackEvent
from outreach.store.directory_import import import_file
from outreach.store.models import cases, sms_opt_outs
from outreach.store.queue import QueueStore
from tests.support.casedb import sqlite_engine
from tests.support.channel_fakes import serve_asgi
from tests.support.live_support import HEADER, Harness, decision, harness, incident, until

TOKEN = "twilio-auth-token-for-tests"
OUR_NUMBER = "+14155550100"
JOE = "+14155550123"  # stu-sms's grandfather: prefers SMS, English
GRANNY = "+8613812345678"  # stu-1's grandmother: prefers calls, Mandarin
STRANGER = "+14155550199"
LISTENING = Waits(chat_s=30, call_s=30, sms_s=30)  # the chain waits for the family's answer
TWO_DAYS_MS = 2 * 86_400_000


@dataclass
class Desk:
    """The runner, its agent queue, and the webhook server's address."""

    h: Harness
    queue: QueueStore
    base: str
    path: str = DEFAULT_SMS_PATH

    async def text_us(
        self, sender: str, body: str, sid: str, *, token: str = TOKEN, signature: str | None = None
    ) -> httpx.Response:
        """POST an incoming SMS as Twilio does (signed with `token` unless `signature`)."""
        url = self.base + self.path
        form = {"From": sender, "To": OUR_NUMBER, "Body": body, "MessageSid": sid,
                "AccountSid": "AC" + "0" * 32, "NumMedia": "0"}
        if signature is None:
            signature = RequestValidator(token).compute_signature(url, form)
        async with httpx.AsyncClient() as client:
            return await client.post(url, data=form, headers={"X-Twilio-Signature": signature})

    def counted(self, intent: str, result: str) -> float:
        """The SMS replies metric for one intent and result."""
        return self.h.counted("firstcall_outreach_sms_replies_total", intent=intent, result=result)

    async def replies(self, case_id: str) -> list[dict[str, object]]:
        """The `sms_reply` events on a case's timeline."""
        return [e.data for e in await self.h.cases.timeline(case_id) if e.kind == "sms_reply"]


@pytest.fixture
async def d(tmp_path: Path) -> AsyncIterator[Desk]:
    engine = await sqlite_engine(tmp_path)
    h = await harness(engine, tmp_path, LISTENING)
    queue = QueueStore(engine, h.cases)
    h.runner.queue = queue
    replies = SmsReplies(h.cases, h.runner, h.metrics, policy=asdict(h.runner.policy))
    app = create_app(TOKEN, timeline_sink(h.cases, h.runner.on_callback), on_sms=replies)
    try:
        async with serve_asgi(app) as base:
            yield Desk(h, queue, base)
    finally:
        await h.runner.aclose()
        await engine.dispose()


async def sms_sent_about(d: Desk, n: int, student: str = "stu-sms") -> str:
    """Incident `n` of `student`, the policy chose SMS; returns the case once the SMS went out."""
    inc = incident(n, student=student)
    before = len(d.h.fakes["sms"].sent)
    await d.h.runner.handle(inc)
    await d.h.runner.handle(decision(inc, "sms"))
    await until(lambda: len(d.h.fakes["sms"].sent) == before + 1)
    return case_id_for(inc.incident_id)


async def test_a_callback_request_lands_on_the_call_queue_for_the_last_helper(d: Desk) -> None:
    # Agent Li helped this family before.
    old = incident(1, student="stu-sms")
    await d.h.runner.handle(old)
    await d.h.runner.handle(decision(old, "agent_queue", "family_asked_for_help"))
    old_case = case_id_for(old.incident_id)
    assert await d.queue.claim(old_case, "agent-li") is None
    await d.queue.resolve(old_case, "agent-li", "resolved_by_call")

    case_id = await sms_sent_about(d, 2)
    answer = await d.text_us(JOE, "1", "SM-callback")

    assert answer.status_code == 200 and answer.headers["content-type"] == "application/xml"
    assert "<Message>Thank you. A technician will call you back soon.</Message>" in answer.text
    await until(lambda: _queued(d, case_id))
    [row] = await d.queue.rows()
    assert (row.case_id, row.reason) == (case_id, "family_asked_for_help")
    agents = [Agent("agent-wu", online=True, idle_since=1), Agent("agent-li", online=True,
                                                                  idle_since=5)]
    helpers = await d.queue.last_helpers(["stu-sms"])
    [ranked] = rank([row.waiting()], d.h.cases.clock(), agents, helpers)
    assert ranked.offered_to == "agent-li"
    assert await d.replies(case_id) == [{"text": "1", "intent": "callback_requested",
                                         "message_sid": "SM-callback", "from": "+14*****0123"}]
    assert d.counted("callback_requested", "queued") == 1


async def _queued(d: Desk, case_id: str) -> bool:
    return case_id in {r.case_id for r in await d.queue.rows()}


async def test_stop_makes_the_next_outreach_call_instead_of_texting(d: Desk) -> None:
    answer = await d.text_us(JOE, "STOP", "SM-stop")
    assert answer.status_code == 200 and "<Message>" not in answer.text
    assert "<Response />" in answer.text  # Twilio confirms the opt-out itself

    inc = incident(1, student="stu-sms")  # this family prefers SMS
    await d.h.runner.handle(inc)
    await d.h.runner.handle(decision(inc, "sms"))
    await until(lambda: len(d.h.fakes["call"].sent) == 1)
    assert d.h.fakes["sms"].sent == []
    case_id = case_id_for(inc.incident_id)
    gates = [e.data for e in await d.h.cases.timeline(case_id) if e.kind == "gate"]
    assert gates == [{"action": "call", "reason": "sms_opted_out", "was": "sms"}]

    # The call is not answered: a person takes over, still no SMS.
    sent = d.h.fakes["call"].sent[0]
    await d.h.runner.on_callback(CallbackEvent("fallback", "call", "no-answer", "CA1",
                                               sent.case_id, sent.message_id))
    await until(lambda: _queued(d, case_id))
    assert [r.reason for r in await d.queue.rows()] == ["sms_opted_out"]
    assert d.h.fakes["sms"].sent == []
    assert d.counted("opt_out", "opted_out") == 1


async def test_start_opts_back_in(d: Desk) -> None:
    await d.text_us(JOE, "stop", "SM-1")
    assert (await d.text_us(JOE, "START", "SM-2")).status_code == 200
    async with d.h.engine.connect() as conn:
        assert (await conn.execute(sms_opt_outs.select())).all() == []
    await sms_sent_about(d, 1)  # texting again
    assert d.counted("opt_in", "opted_in") == 1


@pytest.mark.parametrize("how", ["unsigned", "wrong_token", "tampered"])
async def test_a_request_not_signed_by_our_twilio_account_gets_403_and_changes_nothing(
    d: Desk, how: str
) -> None:
    case_id = await sms_sent_about(d, 1)
    if how == "unsigned":
        answer = await d.text_us(JOE, "STOP", "SM-x", signature="")
    elif how == "wrong_token":
        answer = await d.text_us(JOE, "STOP", "SM-x", token="not-our-token")
    else:  # signed for another message
        form = {"From": JOE, "To": OUR_NUMBER, "Body": "2", "MessageSid": "SM-x",
                "AccountSid": "AC" + "0" * 32, "NumMedia": "0"}
        good = RequestValidator(TOKEN).compute_signature(d.base + d.path, form)
        answer = await d.text_us(JOE, "STOP", "SM-x", signature=good)
    assert answer.status_code == 403
    assert await d.replies(case_id) == []
    async with d.h.engine.connect() as conn:
        assert (await conn.execute(sms_opt_outs.select())).all() == []
    assert d.h.metrics.registry.get_sample_value(
        "firstcall_outreach_sms_replies_total", {"intent": "opt_out", "result": "opted_out"}
    ) is None


async def test_fixed_resolves_the_case_by_sms_in_the_familys_language(d: Desk) -> None:
    inc = incident(1)  # stu-1: Mandarin, prefers calls
    await d.h.runner.handle(inc)
    await d.h.runner.handle(decision(inc, "call"))
    await until(lambda: len(d.h.fakes["call"].sent) == 1)
    case_id = case_id_for(inc.incident_id)

    answer = await d.text_us(GRANNY, "好了，谢谢！", "SM-fine")
    assert "<Message>太好了，谢谢您告诉我们！祝孩子上课顺利。</Message>" in answer.text
    case = await d.h.cases.get(case_id)
    assert case is not None and (case.state, case.outcome) == ("resolved", "resolved_by_sms")
    await d.h.runner.drain()  # the chain stopped: the family said it is fine
    assert d.h.fakes["sms"].sent == [] and await d.queue.rows() == []
    # Twilio posting the same message again changes nothing.
    again = await d.text_us(GRANNY, "好了，谢谢！", "SM-fine")
    assert again.text == answer.text and len(await d.replies(case_id)) == 1
    assert d.counted("solved", "duplicate") == 1


async def test_anything_else_is_queued_for_a_person_with_the_text(d: Desk) -> None:
    case_id = await sms_sent_about(d, 1)
    answer = await d.text_us(JOE, "Who is this? My grandson is at school", "SM-what")
    assert "A technician will read it" in answer.text
    await until(lambda: _queued(d, case_id))
    assert [r.reason for r in await d.queue.rows()] == ["family_reply_unclear"]
    [event] = await d.replies(case_id)
    assert event["text"] == "Who is this? My grandson is at school"
    assert event["intent"] == "unclear"


async def test_a_callback_about_a_case_closed_lately_opens_a_follow_up_in_the_queue(
    d: Desk,
) -> None:
    inc = incident(1, student="stu-sms")
    await d.h.runner.handle(inc)
    await d.h.runner.handle(decision(inc, "agent_queue", "test"))
    case_id = case_id_for(inc.incident_id)
    await d.h.cases.close(case_id, "escalated")
    await d.queue.drop(case_id)

    answer = await d.text_us(JOE, "call me please", "SM-late")
    assert "call you back" in answer.text
    [row] = await d.queue.rows()
    assert row.case_id == "case-reply-SM-late" and row.reason == "family_asked_for_help"
    follow = await d.h.cases.get(row.case_id)
    assert follow is not None and follow.student_id == "stu-sms"
    assert [e["follow_up_of"] for e in await d.replies(row.case_id)] == [case_id]
    assert d.counted("callback_requested", "follow_up") == 1


async def test_an_unknown_number_gets_an_empty_answer_a_count_and_a_redacted_log(
    d: Desk,
) -> None:
    out = io.StringIO()
    configure("INFO", stream=out)
    try:
        answer = await d.text_us(STRANGER, "1", "SM-who")
    finally:
        reset()
    assert answer.status_code == 200 and "<Message>" not in answer.text
    assert d.counted("callback_requested", "unknown_sender") == 1
    logged = out.getvalue()
    assert '"result": "unknown_sender"' in logged and REDACTED in logged
    # the number's digits appear in no logged field (timestamps aside: their microseconds may)
    fields = [json.dumps({k: v for k, v in json.loads(line).items() if k != "timestamp"})
              for line in logged.splitlines() if line.strip()]  # fmt: skip
    assert not [f for f in fields if "0199" in f or "4155550199" in f]


async def test_the_webhook_path_is_a_setting(tmp_path: Path) -> None:
    assert ServiceSection.model_fields["sms_reply_path"].default == DEFAULT_SMS_PATH
    engine = await sqlite_engine(tmp_path)
    h = await harness(engine, tmp_path, LISTENING)
    app = create_app(TOKEN, timeline_sink(h.cases), on_sms=SmsReplies(h.cases, h.runner, h.metrics),
                     sms_path="/hooks/families/sms")
    async with serve_asgi(app) as base:
        moved = Desk(h, QueueStore(engine, h.cases), base, "/hooks/families/sms")
        assert (await moved.text_us(JOE, "ok", "SM-1")).status_code == 200
        assert (await Desk(h, moved.queue, base).text_us(JOE, "ok", "SM-2")).status_code == 404
    await engine.dispose()


# -- a family asking for help is never ignored -----------------------------------------


async def helped_two_days_ago(d: Desk, n: int, student: str, agent: str) -> str:
    """Incident `n` of `student` went to the queue, `agent` took it and closed it 2 days ago."""
    inc = incident(n, student=student)
    await d.h.runner.handle(inc)
    await d.h.runner.handle(decision(inc, "agent_queue", "test"))
    case_id = case_id_for(inc.incident_id)
    then = d.h.cases.clock() - TWO_DAYS_MS
    assert await d.queue.claim(case_id, agent, at=then) is None
    assert not isinstance(await d.queue.resolve(case_id, agent, "resolved_by_call", at=then),
                          Refusal)
    return case_id


async def test_help_asked_with_no_recent_case_opens_one_queued_for_the_last_helper(
    d: Desk,
) -> None:
    await helped_two_days_ago(d, 1, "stu-sms", "agent-li")  # too long ago to be "this" problem

    answer = await d.text_us(JOE, "1", "SM-out-of-the-blue")

    assert "<Message>Thank you. A technician will call you back soon.</Message>" in answer.text
    [row] = await d.queue.rows()
    assert (row.case_id, row.reason, row.student_id, row.kind) == (
        "case-reply-SM-out-of-the-blue", "family_asked_for_help", "stu-sms", "family_request")
    agents = [Agent("agent-wu", online=True, idle_since=1),
              Agent("agent-li", online=True, idle_since=5)]
    helpers = await d.queue.last_helpers(["stu-sms"])
    assert rank([row.waiting()], d.h.cases.clock(), agents, helpers)[0].offered_to == "agent-li"
    case = await d.h.cases.get(row.case_id)
    assert case is not None and case.state == "waiting_agent" and case.session_id is None
    assert case.policy == asdict(d.h.runner.policy)  # the policy in force, frozen on it
    assert await d.replies(row.case_id) == [{"text": "1", "intent": "callback_requested",
                                             "message_sid": "SM-out-of-the-blue",
                                             "from": "+14*****0123"}]
    assert d.counted("callback_requested", "new_case") == 1
    assert all(not fake.sent for fake in d.h.fakes.values())  # a person calls, not a robot


async def test_twilio_posting_the_request_again_opens_no_second_case(d: Desk) -> None:
    first = await d.text_us(JOE, "please call me", "SM-twice")
    again = await d.text_us(JOE, "please call me", "SM-twice")
    # ... and two posts of one message at the same moment (another family).
    both = await asyncio.gather(*(d.text_us(GRANNY, "帮忙", "SM-race") for _ in range(2)))

    assert again.text == first.text and "call you back" in first.text
    assert all("技术人员会尽快给您回电话" in r.text for r in both)
    assert sorted(r.case_id for r in await d.queue.rows()) == ["case-reply-SM-race",
                                                               "case-reply-SM-twice"]
    async with d.h.engine.connect() as conn:
        assert len((await conn.execute(cases.select())).all()) == 2
    assert len(await d.replies("case-reply-SM-twice")) == 1
    assert len(await d.replies("case-reply-SM-race")) == 1
    assert d.counted("callback_requested", "new_case") == 2
    assert d.counted("callback_requested", "duplicate") == 2


async def test_a_later_message_joins_the_case_the_first_one_opened(d: Desk) -> None:
    await d.text_us(JOE, "hello?", "SM-1")
    await d.text_us(JOE, "1", "SM-2")
    [row] = await d.queue.rows()
    assert row.case_id == "case-reply-SM-1"
    assert [r["message_sid"] for r in await d.replies(row.case_id)] == ["SM-1", "SM-2"]
    assert d.counted("callback_requested", "queued") == 1


async def test_an_unclear_message_with_no_recent_case_is_queued_for_a_person_to_read(
    d: Desk,
) -> None:
    answer = await d.text_us(GRANNY, "你好，请问是哪位？", "SM-who-is-it")  # never had a case
    assert "<Message>收到您的消息，技术人员会尽快看一下并联系您。</Message>" in answer.text
    [row] = await d.queue.rows()
    assert (row.case_id, row.reason, row.student_id) == (
        "case-reply-SM-who-is-it", "family_reply_unclear", "stu-1")
    assert d.counted("unclear", "new_case") == 1


async def test_fixed_with_no_recent_case_changes_nothing(d: Desk) -> None:
    await helped_two_days_ago(d, 1, "stu-sms", "agent-li")
    answer = await d.text_us(JOE, "2", "SM-fine")
    assert answer.status_code == 200 and "<Message>" not in answer.text
    assert await d.queue.rows() == []
    async with d.h.engine.connect() as conn:
        assert len((await conn.execute(cases.select())).all()) == 1
    assert d.counted("solved", "no_case") == 1


async def test_a_grandparent_of_siblings_is_routed_to_the_agent_who_helped_the_family(
    d: Desk, tmp_path: Path
) -> None:
    siblings = tmp_path / "siblings.csv"
    siblings.write_text(HEADER + (
        "stu-ann,Ann,Grandpa Lee,+14155550777,grandfather,call,en,America/New_York,,no\n"
        "stu-ben,Ben,Grandpa Lee,+14155550777,grandfather,call,en,America/New_York,,no\n"
    ), encoding="utf-8")
    assert (await import_file(siblings, d.h.directory)).imported
    await helped_two_days_ago(d, 1, "stu-ben", "agent-li")
    later = incident(2, student="stu-ann")  # a newer problem of Ann's nobody had to take
    await d.h.runner.handle(later)
    await d.h.runner.handle(decision(later, "agent_queue", "test"))
    await d.h.cases.close(case_id_for(later.incident_id), "escalated",
                        at=d.h.cases.clock() - TWO_DAYS_MS + 1)
    await d.queue.drop(case_id_for(later.incident_id))

    await d.text_us("+14155550777", "yes", "SM-lee")

    [row] = await d.queue.rows()
    assert (row.case_id, row.student_id) == ("case-reply-SM-lee", "stu-ben")
