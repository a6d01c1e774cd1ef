"""The script follows the session's connection type, in real Chromium: a phone on cellular is
not told to move closer to the Wi-Fi router, in the console nor in what the family receives
(screenshot in artifacts/browser/)."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import expect

from monitor.desk.app import create_app
from tests.support.browser import chromium, shot_path
from tests.support.channel_fakes import serve_asgi
from tests.support.desk_scenario import scripted_desk

TIMEOUT_MS = 10_000


async def test_a_phone_on_cellular_gets_the_mobile_signal_advice_everywhere(
        tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk, chromium() as browser:
        desk.networks["s1"] = ("phone", "cellular")  # stu-1 joins from a phone on 4G
        ann = await desk.users.add("ann", "agent")
        await desk.run_to(150)
        # What the contact chain sent the family (chat, call, SMS) knew the line.
        first = [m for m in desk.chat.sent + desk.calls.sent + desk.sms.sent
                 if m.student_id == "stu-1"]
        assert len(first) == 3 and {(m.device, m.conn) for m in first} == {("phone", "cellular")}
        async with serve_asgi(create_app(desk.live.desk, desk.users)) as base:
            page = await browser.new_page()
            await page.goto(f"{base}/console#token={ann}")
            await page.locator("#queue .q-item.kind-lag").click()
            await expect(page.locator('#context dd[data-field="connection"]')).to_have_text(
                "cellular", timeout=TIMEOUT_MS)
            await expect(page.locator('#context dd[data-field="device"]')).to_have_text("phone")
            script = page.locator("#script")
            await expect(script).to_contain_text("move the phone to where the mobile signal is "
                                                 "stronger")
            await expect(script).not_to_contain_text("Wi-Fi router")
            await expect(page.locator("#script-zh")).to_contain_text("手机信号更好")
            await page.screenshot(path=shot_path("script-1-phone-on-cellular"), full_page=True)
            await page.locator("#claim").click()
            await expect(page.locator("#case-owner")).to_have_text("owner ann",
                                                                   timeout=TIMEOUT_MS)
            await page.locator("#call").click()
            await expect(page.locator("#call-progress")).to_have_text("dialling…",
                                                                      timeout=TIMEOUT_MS)
            assert (desk.calls.sent[-1].device, desk.calls.sent[-1].conn) == ("phone", "cellular")
