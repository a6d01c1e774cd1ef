"""The console in real Chromium: follow-up scores, the follow-up queue, and a low score's
case picked up with the original case's whole history."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect
from prometheus_client import CollectorRegistry

from detectors.records import Incident, case_id_for
from monitor.desk.app import create_app
from outreach.contact.followup import FollowupMetrics, FollowUps
from outreach.contact.followup_answers import FollowupAnswers
from outreach.store.directory import DirectoryStore
from tests.support.browser import chromium, shot_path
from tests.support.channel_fakes import serve_asgi
from tests.support.desk_scenario import T0, scripted_desk

TIMEOUT_MS = 10_000


async def open_as(page: Page, base: str, path: str, token: str) -> None:
    await page.goto(f"{base}{path}#token={token}")
    await expect(page.locator("#live.on")).to_be_visible(timeout=TIMEOUT_MS)


async def test_a_low_score_waits_for_the_agent_who_helped_with_the_cases_history(
        tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk, chromium() as browser:
        app = create_app(desk.live.desk, desk.users)
        ann = await desk.users.add("ann", "agent")
        store, queue, clock = desk.live.desk.store, desk.live.desk.queue, desk.live.clock
        # Ann helped stu-1's family on the phone.
        inc = Incident("lag-stu-1-x", "lag", "open", T0, T0 + 5_000, T0 + 60_000, {}, {},
                       "sess-stu-1", "stu-1", "room-a")
        case = (await store.open_case(inc, {}, at=T0)).case
        await store.record_attempt(case.case_id, "call", at=T0 + 10_000)
        assert await queue.enqueue(case, "family_asked_for_help")
        assert await queue.claim(case.case_id, "ann") is None
        await queue.resolve(case.case_id, "ann", "resolved_by_call", "moved the router")
        # The follow-up goes out after the lesson; the family answers 2.
        metrics = FollowupMetrics.create(CollectorRegistry())
        channels = {"sms": desk.sms, "chat": desk.chat}
        followups = FollowUps(store, DirectoryStore(desk.engine), channels, metrics,  # type: ignore[arg-type]
                              queue=queue, wall=clock)
        answers = FollowupAnswers(store, metrics, queue=queue, wall=clock)
        due = await followups.schedule(case.case_id)
        assert due is not None
        clock.move_to(due)
        assert await followups.sweep() == [case.case_id]
        replied = await answers.answer_sms(["stu-1"], "2 it kept freezing", "SM-low")
        assert replied is not None and replied.result == "follow_up_case"
        follow_id = case_id_for(f"satisfaction-{case.case_id}")

        async with serve_asgi(app) as base:
            console = await browser.new_page()
            await open_as(console, base, "/console", ann)
            item = console.locator(f'#followup-queue .q-item[data-case-id="{follow_id}"]')
            await expect(item).to_contain_text("for ann", timeout=TIMEOUT_MS)
            await expect(item).to_contain_text("low score")
            score = console.locator(f'#followup-scores tr[data-case-id="{case.case_id}"]')
            await expect(score.locator('td[data-field="score"]')).to_have_text("2/5")
            await expect(score).to_contain_text("it kept freezing")
            await expect(console.locator("#followup-agents")).to_contain_text("ann")
            queued = console.locator(f'#queue .q-item[data-case-id="{follow_id}"]')
            await expect(queued.locator(".sub")).to_contain_text("for you")
            await console.screenshot(path=shot_path("followup-1-queue-and-scores"))

            await item.click()
            await console.locator("#claim").click()
            await expect(console.locator("#case-owner")).to_have_text("owner ann",
                                                                     timeout=TIMEOUT_MS)
            original = console.locator("#original")
            await expect(original.locator("h2")).to_contain_text(f"Follows up {case.case_id}")
            await expect(original.locator("h2")).to_contain_text("score 2/5")
            await expect(console.locator("#original-timeline")).to_contain_text("claimed (ann)")
            await expect(console.locator("#original-timeline")).to_contain_text("satisfaction")
            await console.screenshot(path=shot_path("followup-2-picked-up-with-history"),
                                     full_page=True)
