"""`firstcall user`, `firstcall report` and `firstcall serve` from the command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from monitor.apps.serve import add_arguments, options
from monitor.cli import main
from outreach.store.db import make_engine
from outreach.store.users import UserStore
from tests.support.desk_scenario import scripted_desk


def test_user_add_prints_the_token_once_and_stores_only_a_salted_hash(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "desk.db"
    assert main(["user", "--db", str(db), "add", "alice", "--role", "agent"]) == 0
    out = capsys.readouterr()
    token = out.out.strip()
    assert token.startswith("fc.") and "shown only once" in out.err
    secret = token.split(".")[2]
    assert secret.encode() not in db.read_bytes()

    async def check() -> tuple[object, object]:
        engine = make_engine(str(db))
        users = UserStore(engine)
        try:
            return await users.authenticate(token), await users.authenticate(token + "x")
        finally:
            await engine.dispose()

    good, bad = asyncio.run(check())
    assert (getattr(good, "name", None), getattr(good, "role", None)) == ("alice", "agent")
    assert bad is None
    assert main(["user", "--db", str(db), "list"]) == 0
    assert capsys.readouterr().out.split("\t")[:2] == ["alice", "agent"]


def test_user_add_refuses_an_unknown_role_and_a_bad_name(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "desk.db")
    with pytest.raises(SystemExit) as exc:
        main(["user", "--db", db, "add", "alice", "--role", "admin"])
    assert exc.value.code == 2
    assert main(["user", "--db", db, "add", "a b", "--role", "ops"]) == 2
    assert "bad user name" in capsys.readouterr().err


def played_day(tmp_path: Path) -> Path:
    async def play() -> None:
        async with scripted_desk(tmp_path) as desk:
            await desk.run_to(190)
            [lag] = [r for r in await desk.live.desk.queue.rows() if r.kind == "lag"]
            await desk.live.desk.queue.claim(lag.case_id, "ann")
            await desk.live.desk.queue.resolve(lag.case_id, "ann", "resolved_by_call", "router")

    asyncio.run(play())
    return tmp_path / "desk.db"


def test_report_by_classroom_teacher_device_and_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(played_day(tmp_path))
    capsys.readouterr()  # the play's log lines
    since = ["--since", "2025-12-31", "--db", db]
    assert main(["report", *since, "--by", "classroom"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == ["classroom", "incidents", "min", "lost",
                                             "contacts", "outcomes", "top", "causes"]
    assert "room-a" in table and "resolved_by_call 1" in table and "lag: freeze (1)" in table
    assert table.rstrip().splitlines()[-1].startswith("total: 2 incidents")

    assert main(["report", *since, "--by", "device", "--format", "json"]) == 0
    rows = {r["key"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == {"pc", "ipad"}
    assert rows["ipad"]["top_causes"] == [{"cause": "disconnect: silence", "count": 1}]

    out = tmp_path / "by-teacher.csv"
    assert main(["report", *since, "--by", "teacher", "--format", "csv", "-o", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith("teacher,incidents,lesson_minutes_lost,contacts,self_recovered")
    assert {line.split(",")[0] for line in lines[1:]} == {"ms-berg", "mr-lund"}

    assert main(["report", *since, "--by", "line", "--format", "json"]) == 0
    keys = {r["key"] for r in json.loads(capsys.readouterr().out)}
    assert keys == {"line:edge=edge-1/isp=fjordnet/region=oslo",
                    "line:edge=edge-2/isp=kystlink/region=bergen"}


def test_report_by_family(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(played_day(tmp_path))
    capsys.readouterr()
    since = ["--since", "2025-12-31", "--db", db]
    assert main(["report", *since, "--families"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0] == "contacts per family"
    assert "recurring families (top 20 by lesson minutes lost)" in text
    assert main(["report", *since, "--families", "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert set(found) == {"contacts_per_family", "recurring_families", "escalations_by_reason"}
    assert sum(f["cases"] for f in found["contacts_per_family"]) == 2


def test_report_says_what_is_wrong_with_since(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--since", "last tuesday", "--db", str(tmp_path / "x.db")]) == 2
    assert "cannot read 'last tuesday'" in capsys.readouterr().err


def test_serve_answers_with_the_console_and_the_api(tmp_path: Path) -> None:
    db = str(tmp_path / "desk.db")
    assert main(["user", "--db", db, "add", "olga", "--role", "ops"]) == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "monitor.cli", "serve", "--db", db,
                             "--port", str(port), "--log-level", "WARNING"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else b""
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert "Agent console" in httpx.get(f"{base}/console").text
        assert httpx.get(f"{base}/api/dashboard").status_code == 401
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_serve_keeps_no_cases_of_its_own_and_agents_calls_report_to_the_outreach_service(
        capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["--cases", "desk"])  # the case runtime is `firstcall outreach`'s
    assert exc.value.code == 2 and "invalid choice: 'desk'" in capsys.readouterr().err
    env = {"FIRSTCALL_TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "FIRSTCALL_TWILIO_AUTH_TOKEN": "t",
           "FIRSTCALL_TWILIO_FROM_NUMBER": "+4721000000",
           "FIRSTCALL_PUBLIC_BASE_URL": "https://callbacks.example.org/"}
    opts = options(parser.parse_args(["--cases", "outreach"]), env)
    assert opts.twilio is not None
    assert opts.twilio.status_callback_url == "https://callbacks.example.org/twilio/status"
    assert opts.twilio.gather_action_url == "https://callbacks.example.org/twilio/gather"
