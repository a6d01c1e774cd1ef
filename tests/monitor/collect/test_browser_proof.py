# ruff: noqa: RUF001
"""Proof in a real browser: Debian's Chromium, a real WebRTC call (fake camera and
microphone), the SDK attached, posting to a real `firstcall collect` into the Kafka test
broker; the call degraded on its real media path (a TURN relay behind an impairing UDP
proxy); the family's bubble against the real chat gateway. Screenshots in artifacts/browser/."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident, decode_record
from outreach.channels.chat_gateway import ChatGateway, ChatReply
from outreach.channels.chat_tokens import make_token
from outreach.contact.chat_routing import case_router
from outreach.store.cases import CaseStore
from outreach.store.db import make_engine, upgrade
from outreach.store.outbox import Outbox
from tests.support.browser import shot_path
from tests.support.browser_call import (
    chromium_with_media,
    incidents_of,
    loop_rig,
    start_outreach,
)
from tests.support.kafka_helpers import collect as read_topic
from tests.support.kafka_helpers import create_topics, isolated_settings
from tests.support.kafka_procs import Proc
from tests.support.turn import turn_relay

pytestmark = pytest.mark.timeout(180)


async def test_a_healthy_call_sends_clean_stats_and_a_leave_by_beacon(
        kafka_bootstrap: str) -> None:
    kafka = isolated_settings(kafka_bootstrap)
    await create_topics(kafka)
    async with loop_rig(kafka) as rig, chromium_with_media() as ctx:
        page = await rig.open_call(ctx, "healthy")
        await asyncio.sleep(9)  # join, then stats every 2 s
        await page.screenshot(path=shot_path("sdk-healthy-call"))
        await page.close(run_before_unload=True)  # pagehide: leave by beacon
        events = await rig.events("healthy", until_type="leave")
    kinds = [e["type"] for e in events]
    assert kinds[0] == "join" and kinds[-1] == "leave", kinds
    stats = [e for e in events if e["type"] == "stats"]
    assert len(stats) >= 3, kinds
    assert all(s["fps"] > 10 and s["loss_pct"] < 2 and s["recv_kbps"] > 50 for s in stats), stats
    assert events[0]["network"]["edge"] == "sfu-lab"
    assert incidents_of(events) == []  # a healthy call: no incident


async def test_a_killed_renderer_sends_nothing_more_and_silence_is_a_disconnect(
        kafka_bootstrap: str) -> None:
    kafka = isolated_settings(kafka_bootstrap)
    await create_topics(kafka)
    async with loop_rig(kafka) as rig, chromium_with_media() as ctx:
        page = await rig.open_call(ctx, "crashed")
        await asyncio.sleep(7)
        cdp = await ctx.new_cdp_session(page)
        with contextlib.suppress(Exception):  # the renderer dies under the call
            await asyncio.wait_for(cdp.send("Page.crash"), 3)
        killed_at = int(time.time() * 1000)
        await asyncio.sleep(4)
        events = await rig.events("crashed")
    kinds = [e["type"] for e in events]
    assert kinds[0] == "join" and "stats" in kinds and "leave" not in kinds, kinds
    assert max(e["ts"] for e in events) <= killed_at
    assert incidents_of(events, until_ms=killed_at + 3000) == []  # not yet silent for 10 s
    dropped = incidents_of(events, until_ms=killed_at + 12_000)
    assert [(i.kind, i.session_id) for i in dropped] == [("disconnect", "crashed")]


async def test_a_degraded_call_reaches_the_family_bubble_and_the_agent_queue(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    """Chromium -> SDK -> collector -> Kafka -> worker -> outreach -> chat -> the bubble."""
    kafka = isolated_settings(kafka_bootstrap)
    await create_topics(kafka)
    jobs = [Proc("worker", kafka).start(), Proc("correlator", kafka).start()]
    outreach = await start_outreach(kafka, tmp_path, ["stu-degraded"])
    try:
        async with turn_relay() as relay, loop_rig(kafka) as rig, \
                chromium_with_media() as ctx:
            page = await rig.open_call(ctx, "degraded", relay.ice_config())
            token = make_token("stu-degraded", outreach.chat_secret, int(time.time()) + 600)
            await page.evaluate("""([url, token]) => {
                window.bubble = window.FirstCall.chat({endpoint: url, token, lang: 'zh-CN'});
            }""", [outreach.chat_url, token])
            await asyncio.sleep(6)  # healthy through the relay first
            relay.impairment.loss, relay.impairment.delay_s = 0.10, 0.15
            degraded_at = time.time() * 1000
            shown = page.locator(".fc-bubble .fc-text")
            await shown.wait_for(state="visible", timeout=40_000)
            shown_at = time.time() * 1000
            await page.screenshot(path=shot_path("loop-degraded-bubble"))
            records = await read_topic(kafka_bootstrap, kafka.topics.incidents, idle_s=0.5,
                                       timeout_s=5)
            lag = [r for r in map(decode_record, (m.value for m in records))
                   if isinstance(r, Incident) and r.kind == "lag"]
            await page.locator(".fc-bubble .fc-help").click()
            engine = make_engine(str(outreach.db))
            try:
                store = CaseStore(engine)
                queued = None
                for _ in range(50):
                    waiting = [c for c in await store.active_for_student("stu-degraded")
                               if c.state == "waiting_agent"]
                    if waiting:
                        queued = waiting[0]
                        break
                    await asyncio.sleep(0.2)
            finally:
                await engine.dispose()
            await page.screenshot(path=shot_path("loop-degraded-bubble-answered"))
            events = await rig.events("degraded")
            await page.close()
    finally:
        outreach.stop()
        for job in jobs:
            job.stop()
    assert relay.impairment.dropped > 0
    before = [e for e in events if e["type"] == "stats" and e["ts"] < degraded_at]
    assert before and all(e["fps"] > 10 and e["loss_pct"] < 2 for e in before), before
    assert lag and lag[0].session_id == "degraded", jobs[0].output()[-2000:]
    assert shown_at - degraded_at < 30_000, shown_at - degraded_at  # the bound
    assert queued is not None, outreach.log.read_text()[-3000:]  # "please call me": the queue


async def test_the_bubble_shows_our_message_and_please_call_me_reaches_the_agent_queue(
        tmp_path: Path) -> None:
    engine: AsyncEngine = make_engine(str(tmp_path / "chat.db"))
    await upgrade(engine)
    replies: list[ChatReply] = []
    store = CaseStore(engine)
    lag = Incident("lag-7", "lag", "open", 0, 1, None, {}, {}, "sess-7", "stu-7", "class-1")
    case = (await store.open_case(lag, {})).case
    router = case_router(store)

    async def on_reply(reply: ChatReply) -> None:
        replies.append(reply)
        await router(reply)  # what the outreach service's gateway does with replies

    secret = b"bubble-secret"
    try:
        async with ChatGateway(Outbox(engine), secret, on_reply) as gateway, \
                loop_rig(isolated_settings("127.0.0.1:9")) as rig, \
                chromium_with_media() as ctx:
            page = await ctx.new_page()
            await page.goto(f"{rig.page_url}/call.html")
            token = make_token("stu-7", secret, int(time.time()) + 600)
            await page.evaluate("""async ([collect, url, token]) => {
                const FC = await import(collect + '/sdk/firstcall.js');
                window.bubble = FC.chat({endpoint: url, token, lang: 'zh-CN'});
            }""", [rig.collect_url, gateway.url, token])
            for _ in range(50):
                if gateway.connected("stu-7"):
                    break
                await asyncio.sleep(0.1)
            text = "您好，孩子的课堂画面有点卡。我们正在查看，需要帮忙请点下面的按钮。"
            await gateway.push("stu-7", text, case_id=case.case_id)
            bubble = page.locator(".fc-bubble")
            shown = bubble.locator(".fc-text").filter(has_text="课堂画面有点卡")
            await shown.wait_for(timeout=5000)
            await page.screenshot(path=shot_path("bubble-zh-CN"))
            await bubble.locator(".fc-help").click()
            for _ in range(50):
                if replies:
                    break
                await asyncio.sleep(0.1)
            await page.screenshot(path=shot_path("bubble-zh-CN-answered"))
        assert [(r.intent, r.case_id, r.text) for r in replies] == [
            ("needs_help", case.case_id, "请给我打电话")]
        queued = await store.get(case.case_id)
        assert queued is not None and queued.state == "waiting_agent"  # the agent queue
    finally:
        await engine.dispose()
