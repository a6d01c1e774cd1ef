"""The one-tap fix in a real browser: Debian's Chromium, a real WebRTC call, the bubble on
the real chat gateway; the tap lowers the sender's video (seen in getParameters and
getStats), reports it on the next stats event and answers with intent remedy_applied."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.channels.chat_gateway import ChatGateway, ChatReply
from outreach.channels.chat_tokens import make_token
from outreach.scripts.remedy_wording import remedy_message_text
from outreach.store.db import make_engine, upgrade
from outreach.store.outbox import Outbox
from tests.support.browser import shot_path
from tests.support.browser_call import chromium_with_media, loop_rig
from tests.support.kafka_helpers import create_topics, isolated_settings

pytestmark = pytest.mark.timeout(180)

SENDER = """() => {
  const s = window.teacherPc.getSenders().find((x) => x.track && x.track.kind === 'video');
  return s.getParameters().encodings.map((e) => ({maxBitrate: e.maxBitrate,
    scale: e.scaleResolutionDownBy}));
}"""
SENT_WIDTH = """async () => {
  const out = [...(await window.teacherPc.getStats()).values()]
    .find((s) => s.type === 'outbound-rtp' && s.kind === 'video');
  return out ? out.frameWidth || 0 : 0;
}"""


async def test_the_tap_lowers_the_senders_video_and_says_so(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    kafka = isolated_settings(kafka_bootstrap)
    await create_topics(kafka)
    engine: AsyncEngine = make_engine(str(tmp_path / "chat.db"))
    await upgrade(engine)
    replies: list[ChatReply] = []

    async def on_reply(reply: ChatReply) -> None:
        replies.append(reply)

    secret = b"remedy-secret"
    try:
        async with ChatGateway(Outbox(engine), secret, on_reply) as gateway, \
                loop_rig(kafka) as rig, \
                chromium_with_media() as ctx:
            page = await rig.open_call(ctx, "remedy")
            token = make_token("stu-7", secret, int(time.time()) + 600)
            await page.evaluate("""([url, token]) => {
                const FC = window.FirstCall;
                window.bubble = FC.chat({endpoint: url, token, lang: 'en', session: window.fc,
                  onRemedy: () => FC.lighterPicture(window.teacherPc)});
            }""", [gateway.url, token])
            for _ in range(50):
                if gateway.connected("stu-7"):
                    break
                await asyncio.sleep(0.1)
            widths = [await page.evaluate(SENT_WIDTH)]
            for _ in range(30):  # the fake camera's 640x360 reaches the sender
                if widths[-1] >= 640:
                    break
                await asyncio.sleep(0.3)
                widths.append(await page.evaluate(SENT_WIDTH))
            before: list[dict[str, Any]] = await page.evaluate(SENDER)
            offer = await gateway.push("stu-7", remedy_message_text("lag", "pc", "en"),
                                       case_id="case-7", extra={"remedy": "lighter_picture"})
            button = page.locator(".fc-bubble .fc-remedy")
            await button.wait_for(state="visible", timeout=5000)
            await page.screenshot(path=shot_path("bubble-remedy-offer"))
            await button.click()
            for _ in range(50):
                if replies:
                    break
                await asyncio.sleep(0.1)
            after: list[dict[str, Any]] = await page.evaluate(SENDER)
            tapped_away = await button.is_hidden()  # the [hidden] buttons really go away
            lowered = 0
            for _ in range(40):  # the encoder follows within a few frames
                lowered = await page.evaluate(SENT_WIDTH)
                if 0 < lowered <= 320:
                    break
                await asyncio.sleep(0.3)
            await page.screenshot(path=shot_path("bubble-remedy-applied"))
            await asyncio.sleep(4.5)  # the next stats round carries the mark
            events = await rig.events("remedy")
            await page.close()
    finally:
        await engine.dispose()
    assert widths[-1] >= 640, widths
    assert all(e.get("maxBitrate") is None for e in before), before
    assert after == [{"maxBitrate": 250_000, "scale": 2}], after
    assert tapped_away
    assert 0 < lowered <= 320, lowered  # half of 640: scaleResolutionDownBy 2 in getStats
    assert [(r.intent, r.in_reply_to, r.case_id) for r in replies] == [
        ("remedy_applied", offer.message_id, "case-7")]
    marked = [e for e in events if e.get("remedy") == "lighter_picture"]
    assert len(marked) == 1 and marked[0]["type"] in ("stats", "heartbeat"), events
