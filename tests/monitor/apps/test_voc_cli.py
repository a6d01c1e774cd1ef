"""`firstcall voc`: the digest as Markdown, HTML and CSV, emailed (aiosmtpd) and signed webhook."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import socket
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from monitor.cli import main
from monitor.voc_delivery import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from outreach.store.db import make_engine, upgrade
from tests.support.channel_fakes import serve_asgi
from tests.support.voc_week import seed_hour

PERIOD = ["--since", "2026-01-01T09:00", "--until", "2026-01-01T10:00"]


@pytest.fixture
async def db(tmp_path: Path) -> str:
    path = str(tmp_path / "voc.db")
    engine = make_engine(path)
    await upgrade(engine)
    await seed_hour(engine)
    await engine.dispose()
    return path


async def run_cli(*args: str) -> int:
    return await asyncio.to_thread(main, ["voc", *args])


async def test_markdown_html_and_csv_name_the_problems_with_charts_and_escape_the_text(
        db: str, tmp_path: Path) -> None:
    out = {fmt: tmp_path / f"digest.{fmt}" for fmt in ("md", "html", "csv")}
    for fmt, path in out.items():
        assert await run_cli("--db", db, *PERIOD, "--format", fmt, "--out", str(path)) == 0
    md = out["md"].read_text()
    assert md.startswith("# Voice of the customer: 2026-01-01 09:00 UTC to 2026-01-01 10:00 UTC")
    assert "1. edge:sfu-bergen: 1 incidents, 2 sessions, 3.0 lesson min lost" in md
    assert "app 5.4.0 (new release) worse than 5.3.2" in md
    assert md.count("<svg ") == 5 and "no follow-up scores yet" in md
    assert "<script>" not in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    page = out["html"].read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert page.count("<svg ") == 5 and '<section class="team" data-team="product">' in page
    rows = list(csv.reader(io.StringIO(out["csv"].read_text())))
    assert rows[0] == ["team", "table", "key", "figures", "previous", "action"]
    assert rows[1][:3] == ["infrastructure", "top problem 1", "edge:sfu-bergen"]
    teachers = [r for r in rows if r[1].startswith("Teachers")]
    assert teachers[0][2].startswith("'=cmd")  # a formula is not run by a spreadsheet


async def test_bad_periods_and_send_without_settings_are_refused(
        db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_cli("--db", db, "--since", "soon") == 2
    assert await run_cli("--db", db, "--since", "1h", "--until", "2h") == 2
    assert await run_cli("--db", db, "--since", "94d") == 2  # bounded: at most a quarter
    assert await run_cli("--db", db, "--send") == 2
    assert "nothing to send to" in capsys.readouterr().err


class Inbox:
    """An aiosmtpd handler that keeps every message."""

    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, Message]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append((envelope, message_from_bytes(envelope.content)))
        return "250 OK"


async def test_send_emails_the_digest_and_posts_it_signed_to_the_webhook(
        db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    got: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: Request) -> Response:
        got.append((dict(request.headers), await request.body()))
        return Response(status_code=202)

    try:
        async with serve_asgi(Starlette(routes=[Route("/voc", hook, methods=["POST"])])) as base:
            env: dict[str, Any] = {
                "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port),
                "SMTP_STARTTLS": "false", "EMAIL_FROM": "firstcall@school.example",
                "EMAIL_TO": "infra@school.example, product@school.example",
                "WEBHOOK_URL": base + "/voc", "WEBHOOK_KEY": "k3y"}
            for name, value in env.items():
                monkeypatch.setenv("FIRSTCALL_VOC_" + name, value)
            assert await run_cli("--db", db, *PERIOD, "--send", "--out", "/dev/null") == 0
    finally:
        smtp.stop()
    (envelope, msg), = inbox.messages
    assert envelope.rcpt_tos == ["infra@school.example", "product@school.example"]
    assert msg["Subject"].startswith("Voice of the customer: 2026-01-01 09:00 UTC")
    parts = {p.get_content_type(): p.get_payload(decode=True) for p in msg.walk()}
    assert b"edge:sfu-bergen" in parts["text/plain"] and b"<svg " in parts["text/html"]
    (headers, body), = got
    stamp = int(headers[TIMESTAMP_HEADER.lower()])
    assert headers[SIGNATURE_HEADER.lower()] == sign(b"k3y", stamp, body)
    assert headers[SIGNATURE_HEADER.lower()] != sign(b"other", stamp, body)
    payload = json.loads(body)
    assert payload["version"] == 1 and payload["worse_release"] == {"new": "5.4.0",
                                                                     "before": "5.3.2"}
    assert payload["problems"]["infrastructure"][0]["subject"] == "edge:sfu-bergen"


async def test_a_refusing_webhook_is_a_failure(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async def hook(request: Request) -> Response:
        return Response(status_code=401)

    async with serve_asgi(Starlette(routes=[Route("/voc", hook, methods=["POST"])])) as base:
        monkeypatch.setenv("FIRSTCALL_VOC_WEBHOOK_URL", base + "/voc")
        monkeypatch.setenv("FIRSTCALL_VOC_WEBHOOK_KEY", "k3y")
        assert await run_cli("--db", db, *PERIOD, "--send", "--out", "/dev/null") == 1
