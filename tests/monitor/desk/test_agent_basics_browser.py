"""The agent's basics in real Chromium (#16.7): search, filters, the family before calling,
the chat transcript, plain words with the code in a tooltip, the amber SLA warning, the
"10x demo time" note, keyboard shortcuts, and a queue that never reorders under the pointer.

The scripted school (tests/support/desk_scenario.py): stu-1's lag is queued first, stu-2's
disconnect joins above it at about 140 s, and the lag rises past its service level at
about 190 s. Screenshots are kept in artifacts/browser/.
"""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect

from monitor.desk.app import create_app
from outreach.store.outbox import Outbox
from tests.support.browser import chromium, shot_path
from tests.support.channel_fakes import serve_asgi
from tests.support.desk_scenario import PHONES, Desk, scripted_desk

TIMEOUT_MS = 10_000


async def open_console(page: Page, base: str, token: str) -> None:
    await page.goto(f"{base}/console#token={token}")
    await expect(page.locator("#live.on")).to_be_visible(timeout=TIMEOUT_MS)


async def case_of(desk: Desk, student: str) -> str:
    [row] = [r for r in await desk.live.desk.queue.rows() if r.student_id == student]
    return row.case_id


async def test_search_filters_family_chat_words_amber_sla_and_the_demo_time_note(
        tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk, chromium() as browser:
        app = create_app(desk.live.desk, desk.users, sla_warn_ms=60_000, time_speed=10.0)
        ann = await desk.users.add("ann", "agent")
        await desk.run_to(150)
        lag_id, disc_id = await case_of(desk, "stu-1"), await case_of(desk, "stu-2")
        outbox = Outbox(desk.engine, desk.live.clock)
        await outbox.add("stu-1", {"text": "Your class video is stuttering."}, case_id=lag_id)
        await desk.live.desk.store.add_event(
            lag_id, "chat_reply", {"reply_id": "r1", "text": "still bad", "intent": "needs_help"},
            actor="family:stu-1", at=desk.live.clock() + 1)
        async with serve_asgi(app) as base:
            page = await browser.new_page()
            await open_console(page, base, ann)

            # The demo runs ten times faster than real time, and says so.
            await expect(page.locator("#demo-speed")).to_have_text("10x demo time")
            await expect(page.locator("#demo-speed")).to_be_visible()

            # Amber before the SLA is missed (less than 60 s left), not for the fresh case.
            lag = page.locator("#queue .q-item.kind-lag")
            disc = page.locator("#queue .q-item.kind-disconnect")
            await expect(lag).to_have_class("q-item kind-lag sla-warn", timeout=TIMEOUT_MS)
            await expect(lag.locator(".sla-text.warn")).to_contain_text("answer soon")
            await expect(disc).not_to_have_class("sla-warn")
            # --amber (retried: the card is redrawn at every refresh, a read may hit a detached one)
            await expect(lag.locator(".sla > i")).to_have_css("background-color",
                                                              "rgb(224, 138, 0)")

            # Plain words, the code in the tooltip.
            reason = lag.locator('.code-word[data-code="sms_unanswered"]')
            await expect(reason).to_have_text("nobody answered the chat, call or SMS")
            await expect(reason).to_have_attribute("title", "sms_unanswered")
            await expect(lag.locator(".sub")).not_to_contain_text("score")
            await expect(lag.locator('.code-word[title^="score "]')).to_have_text("2nd in line")
            await expect(page.locator('#outcome option[value="resolved_by_call"]')
                         ).to_have_text("solved on a call")
            await page.screenshot(path=shot_path("16-7-1-queue-amber-sla-plain-words"),
                                  full_page=True)

            # Filters: by kind (the rank stays the whole queue's), by classroom.
            await page.locator("#f-kind").select_option("lag")
            await expect(page.locator("#queue > .q-item")).to_have_count(1)
            await expect(lag).to_have_attribute("data-rank", "2")
            await expect(page.locator("#queue-count")).to_have_text("(1 of 2 waiting shown)")
            await page.locator("#f-kind").select_option("")
            await page.locator("#f-classroom").select_option("room-b")
            await expect(page.locator("#queue > .q-item")).to_have_count(1)
            await expect(disc).to_have_count(1)
            await page.locator("#f-classroom").select_option("")
            await expect(page.locator("#queue > .q-item")).to_have_count(2)

            # Search by the phone's last digits: one case, the number masked.
            await page.locator("#search").fill("4562")
            hit = page.locator("#search-results .s-item")
            await expect(hit).to_have_count(1, timeout=TIMEOUT_MS)
            await expect(hit).to_have_attribute("data-matched", "phone")
            await expect(hit).to_contain_text("+47****4562")
            assert PHONES["stu-2"] not in await page.content()
            await hit.click()
            await expect(page.locator("#case-title")).to_contain_text(disc_id)
            # The guardian before calling: name, relationship, language, masked phone.
            family = page.locator("#family .guardian")
            await expect(family.locator(".g-name")).to_have_text("Grandma stu-2",
                                                               timeout=TIMEOUT_MS)
            await expect(family.locator(".g-relation")).to_have_text("grandmother")
            await expect(family.locator(".g-language")).to_have_text("English (en)")
            await expect(family.locator(".g-phone")).to_have_text("+47****4562")
            await expect(page.locator("#call")).to_be_visible()
            await page.screenshot(path=shot_path("16-7-2-search-by-phone-family-before-call"),
                                  full_page=True)

            # By the guardian's name: stu-1's case, with its chat transcript.
            await page.locator("#search").fill("grandma stu-1")
            await expect(hit).to_have_attribute("data-matched", "guardian", timeout=TIMEOUT_MS)
            await hit.click()
            await expect(page.locator("#case-title")).to_contain_text(lag_id)
            said = page.locator("#transcript li")
            await expect(said.filter(has_text="Your class video is stuttering.")).to_have_attribute(
                "data-from", "firstcall", timeout=TIMEOUT_MS)
            await expect(said.last).to_contain_text("family: still bad")
            await expect(said.last).to_have_attribute("data-from", "family")
            # The case's state and timeline in words, each code in its tooltip.
            await expect(page.locator("#case-state")).to_have_text("state waiting for an agent")
            await expect(page.locator("#case-state")).to_have_attribute("title", "waiting_agent")
            step = page.locator('#timeline .code-word[data-code="waiting_agent"]').first
            await expect(step).to_have_text("waiting for an agent")
            await expect(step).to_have_attribute("title", "waiting_agent")
            await expect(page.locator("#timeline")).not_to_contain_text("waiting_agent")
            await expect(page.locator("#timeline li").last).to_contain_text(
                "the family replied in the chat (family:stu-1): “still bad”")
            await page.screenshot(path=shot_path("16-7-3-case-chat-transcript-and-words"),
                                  full_page=True)

            # The console's other language: the same mapping, in Chinese.
            await page.locator("#ui-lang").select_option("zh-CN")
            await expect(page.locator('#queue .code-word[data-code="sms_unanswered"]').first
                         ).to_have_text("聊天、电话和短信都没有回应", timeout=TIMEOUT_MS)
            await page.screenshot(path=shot_path("16-7-4-words-in-chinese"))


async def test_keys_move_claim_and_resolve_and_the_queue_stays_put_under_the_pointer(
        tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk, chromium() as browser:
        app = create_app(desk.live.desk, desk.users)
        ann = await desk.users.add("ann", "agent")
        await desk.run_to(100)
        lag_id = await case_of(desk, "stu-1")
        async with serve_asgi(app) as base:
            page = await browser.new_page()
            await open_console(page, base, ann)
            # No demo note on a desk running in real time.
            await expect(page.locator("#demo-speed")).to_be_hidden()
            cards = page.locator("#queue > .q-item")
            await expect(cards).to_have_count(1, timeout=TIMEOUT_MS)
            await page.evaluate("""() => { window.arrived = [];
              new MutationObserver((ms) => ms.forEach((m) => m.addedNodes.forEach((n) => {
                if (n.classList && n.classList.contains("q-new")) arrived.push(n.dataset.caseId);
              }))).observe(document.getElementById("queue"), { childList: true }); }""")

            # The pointer rests on the lag: the disconnect that ranks above it waits.
            await cards.first.hover()
            await desk.run_to(150)
            disc_id = await case_of(desk, "stu-2")
            await expect(page.locator("#queue-paused")).to_be_visible(timeout=TIMEOUT_MS)
            await expect(cards).to_have_count(1)
            await expect(cards.first).to_have_attribute("data-case-id", lag_id)
            await page.wait_for_timeout(3500)  # a periodic refresh later it still waits
            await expect(page.locator("#queue-paused")).to_be_visible()
            await expect(cards).to_have_count(1)
            await page.screenshot(path=shot_path("16-7-5-queue-paused-under-the-pointer"))
            # The pointer leaves: the new card animates in on top.
            await page.mouse.move(5, 5)
            await expect(cards).to_have_count(2, timeout=TIMEOUT_MS)
            await expect(cards.first).to_have_attribute("data-case-id", disc_id)
            await expect(page.locator("#queue-paused")).to_be_hidden()
            assert disc_id in await page.evaluate("() => arrived")

            # Keys: j/k move through the cards; not while typing in a field.
            await page.keyboard.press("j")
            await expect(page.locator("#case-title")).to_contain_text(disc_id)
            await page.keyboard.press("j")
            await expect(page.locator("#case-title")).to_contain_text(lag_id)
            await page.keyboard.press("k")
            await expect(page.locator("#case-title")).to_contain_text(disc_id)
            await page.locator("#search").click()
            await page.keyboard.type("jk")
            await expect(page.locator("#search")).to_have_value("jk")
            await expect(page.locator("#case-title")).to_contain_text(disc_id)
            await page.locator("#search").fill("")
            await page.evaluate("() => document.activeElement.blur()")
            await page.keyboard.press("?")
            await expect(page.locator("#help")).to_be_visible()
            await expect(page.locator("#help")).to_contain_text("claim the case")
            await page.screenshot(path=shot_path("16-7-6-keyboard-help"))
            await page.keyboard.press("Escape")
            await expect(page.locator("#help")).to_be_hidden()

            # The selected card stays put when the lag rises above it past its SLA.
            await page.keyboard.press("j")
            await expect(page.locator("#case-title")).to_contain_text(lag_id)
            await page.mouse.move(5, 5)
            await desk.run_to(200)
            await expect(page.locator(f'#queue .q-item[data-case-id="{lag_id}"]')
                         ).to_have_attribute("data-rank", "1", timeout=TIMEOUT_MS)
            await expect(cards.nth(1)).to_have_attribute("data-case-id", lag_id)
            await expect(cards.nth(0)).to_have_attribute("data-rank", "2")

            # c claims, r opens the outcome, Enter in the note resolves.
            await page.keyboard.press("c")
            await expect(page.locator("#case-owner")).to_have_text("owner ann",
                                                                 timeout=TIMEOUT_MS)
            await page.keyboard.press("r")
            await expect(page.locator("#outcome")).to_be_focused()
            await page.locator("#outcome").select_option("escalated")
            await page.locator("#note").fill("needs the network team")
            await page.locator("#note").press("Enter")
            await expect(page.locator("#status")).to_contain_text(
                "Resolved: passed to the engineers", timeout=TIMEOUT_MS)
            await expect(page.locator("#case-state")).to_have_text("state closed")
            await page.screenshot(path=shot_path("16-7-7-claimed-and-resolved-by-keys"),
                                  full_page=True)
