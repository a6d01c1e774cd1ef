"""Calling the guardian in real Chromium: the call's progress live, the ways on after no answer,
and a confirmation before an outcome the record contradicts (screenshots in artifacts/browser/)."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect

from monitor.desk.app import create_app
from outreach.channels.twilio_callbacks import timeline_sink
from outreach.decide.signals import CallbackEvent, classify
from tests.support.browser import chromium, shot_path
from tests.support.channel_fakes import serve_asgi
from tests.support.desk_scenario import PHONES, scripted_desk

LIVE_MS = 5_000  # the bound: a call's result shows within 5 s


async def pick(page: Page, kind: str) -> str:
    item = page.locator(f"#queue .q-item.kind-{kind}")
    await item.click()
    await page.locator("#claim").click()
    await expect(page.locator("#case-owner")).to_have_text("owner ann", timeout=LIVE_MS)
    return str(await page.locator("#case-title").get_attribute("data-case-id"))


async def test_a_failed_call_says_no_answer_offers_sms_and_call_back_and_guards_the_outcome(
        tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk, chromium() as browser:
        ann = await desk.users.add("ann", "agent")
        await desk.run_to(150)
        async with serve_asgi(create_app(desk.live.desk, desk.users)) as base:
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(f"{base}/console#token={ann}")
            await expect(page.locator("#live.on")).to_be_visible(timeout=LIVE_MS)

            # stu-2's family does not answer: the provider says so at once (502).
            await pick(page, "disconnect")
            await page.locator("#call").click()
            progress = page.locator("#call-progress")
            await expect(progress).to_have_attribute("data-state", "no_answer", timeout=LIVE_MS)
            await expect(progress).to_have_text("no answer")
            await expect(page.locator("#status")).to_have_text(
                "the call did not get through: no answer")
            await expect(page.locator("#call-offers")).to_be_visible()
            await page.screenshot(path=shot_path("call-1-no-answer-offers"), full_page=True)

            await page.locator("#send-sms").click()
            await expect(page.locator("#status")).to_have_text("SMS to the guardian: delivered.")
            assert desk.sms.sent[-1].to == PHONES["stu-2"]
            await page.locator("#call-back-min").select_option("30")
            await page.locator("#call-back").click()
            await expect(page.locator("#call-back-due")).to_have_text("call back due at 09:32:30")
            await expect(page.locator("#timeline")).to_contain_text("call back scheduled (ann)")

            # "Resolved by call" for a call nobody answered is not taken on trust.
            await page.locator("#outcome").select_option("resolved_by_call")
            await page.locator("#resolve").click()
            await expect(page.locator("#confirm-why")).to_have_text(
                "no call on this case was answered (last: no answer)")
            await expect(page.locator("#case-state")).to_have_text("state waiting for an agent")
            await page.screenshot(path=shot_path("call-2-outcome-contradicts-record"),
                                  full_page=True)
            await page.locator("#outcome").select_option("no_answer")
            await expect(page.locator("#confirm-box")).to_be_hidden()
            await page.locator("#resolve").click()
            await expect(page.locator("#case-state")).to_have_text("state closed")

            # stu-1's family picks up: dialling, ringing, answered, as Twilio reports them.
            case_id = await pick(page, "lag")
            await page.locator("#call").click()
            await expect(progress).to_have_text("dialling…", timeout=LIVE_MS)
            sink = timeline_sink(desk.live.desk.store)
            for status, words in (("ringing", "ringing…"), ("in-progress", "answered")):
                await sink(CallbackEvent(classify("call", status), "call", status, "CA1",
                                         case_id, f"{case_id}:agent-call:1"))
                await expect(progress).to_have_text(words, timeout=LIVE_MS)
            await expect(page.locator("#call-offers")).to_be_hidden()
            await page.screenshot(path=shot_path("call-3-answered"), full_page=True)
            await page.locator("#outcome").select_option("resolved_by_call")
            await page.locator("#resolve").click()
            await expect(page.locator("#case-state")).to_have_text("state closed")
            await expect(page.locator("#confirm-box")).to_be_hidden()
            assert errors == []
