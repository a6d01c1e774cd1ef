"""`firstcall demo` opens the console: a printed URL with a token shows the live school."""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import sqlite3
from pathlib import Path

import httpx
from playwright.async_api import expect

from monitor.demo import add_arguments, run_demo
from tests.support.browser import chromium, shot_path


async def test_the_demo_prints_a_console_url_whose_token_opens_the_live_queue(
        tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--no-browser", "--port", "0", "--speed", "60", "--minutes",
                              "0.2", "--classrooms", "6", "--dir", str(tmp_path), "--no-color"])
    out = io.StringIO()
    demo = asyncio.create_task(run_demo(args, out))
    try:
        for _ in range(200):
            if "console: " in out.getvalue():
                break
            await asyncio.sleep(0.05)
        m = re.search(r"console: (http://[\d.:]+)/console#token=(\S+) \(user demo-agent, "
                      r"token (\S+)\)", out.getvalue())
        assert m is not None, out.getvalue()
        base, in_url, token = m.groups()
        assert in_url == token
        async with httpx.AsyncClient(base_url=base) as http:
            page = await http.get("/console")
            assert page.status_code == 200 and "Call queue" in page.text
            headers = {"Authorization": f"Bearer {token}"}
            assert (await http.get("/api/me", headers=headers)).json()["role"] == "agent"
            queue = (await http.get("/api/queue", headers=headers)).json()
            assert set(queue) >= {"waiting", "held", "sla_ms"}
        ops = re.search(r"ops dashboard: (\S+) ", out.getvalue())
        assert ops is not None
        async with chromium() as browser:  # what a newcomer sees at the printed URLs
            page = await browser.new_page()
            await page.goto(f"{base}/console#token={token}")
            await expect(page.locator("#who")).to_have_text("demo-agent (agent)")
            await expect(page.locator("#live.on")).to_be_visible()
            await asyncio.sleep(3)  # a few simulated minutes of school
            await page.screenshot(path=shot_path("demo-console"), full_page=True)
            await page.goto(ops[1])
            await expect(page.locator("#heat rect[data-line]").first).to_be_visible()
            await page.screenshot(path=shot_path("demo-dashboard"), full_page=True)
        counts = await demo
    finally:
        demo.cancel()
    assert (tmp_path / "demo.db").exists()
    assert any(k.startswith(("lag", "disconnect")) for k in counts), counts
    assert "FirstCall demo: 6 live lessons" in out.getvalue()
    # The cases are the production runtime's: every decision on its case's timeline, by the
    # policy, for a family from the demo's directory.
    with sqlite3.connect(tmp_path / "demo.db") as db:
        decided = db.execute("SELECT count(*) FROM case_events WHERE kind = 'decision' "
                             "AND actor = 'policy'").fetchone()[0]
        families = db.execute("SELECT count(*) FROM students").fetchone()[0]
    assert decided > 0 and any(k.startswith("outreach ") for k in counts), counts
    assert families > 6
