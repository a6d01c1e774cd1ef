"""`firstcall demo` opens the console: a printed URL with a token shows the live school."""

from __future__ import annotations

import argparse
import asyncio
import io
import re
from pathlib import Path

import httpx

from monitor.demo import add_arguments, run_demo


async def test_the_demo_prints_a_console_url_whose_token_opens_the_live_queue(
        tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--no-browser", "--port", "0", "--speed", "60", "--minutes",
                              "0.12", "--classrooms", "6", "--dir", str(tmp_path), "--no-color"])
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
            await asyncio.sleep(4)  # about four simulated minutes of school
            queue = (await http.get("/api/queue", headers=headers)).json()
            assert set(queue) >= {"waiting", "held", "sla_ms"}
        counts = await demo
    finally:
        demo.cancel()
    assert (tmp_path / "demo.db").exists()
    assert any(k.startswith(("lag", "disconnect")) for k in counts), counts
    assert "FirstCall demo: 6 live lessons" in out.getvalue()
