"""`firstcall collect` on the Kafka test broker: HTTP and websocket events reach the topic."""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from monitor.apps import collect, token
from monitor.cli import build_parser
from monitor.collect.tokens import SessionGrant, mint, verify
from monitor.platform.settings import ConfigError, load_settings
from tests.support.kafka_broker import free_port
from tests.support.kafka_helpers import collect as read_topic
from tests.support.kafka_helpers import create_topics, isolated_settings

SECRET = "cli-test-secret"


def options(bootstrap: str, prefix: str, port: int) -> collect.Options:
    env = {"FIRSTCALL_COLLECT_SECRET": SECRET, "FIRSTCALL_COLLECT_IDEMPOTENT": "false",
           "FIRSTCALL_TOPIC_PREFIX": prefix,
           "FIRSTCALL_COLLECT_ALLOWED_ORIGINS": "http://app.test, http://other.test"}
    args = argparse.Namespace(host="127.0.0.1", port=port, bootstrap=bootstrap, log_level=None)
    return collect.options(args, load_settings(env=env))


def now_event(kind: str, session: str) -> dict[str, object]:
    return {"v": 1, "type": kind, "ts": int(time.time() * 1000), "session_id": session,
            "student_id": "u1", "classroom_id": "c1"}


def test_a_collector_without_a_secret_does_not_start() -> None:
    args = argparse.Namespace(host=None, port=None, bootstrap=None, log_level=None)
    with pytest.raises(ConfigError, match=r"collect\.secret"):
        collect.options(args, load_settings(env={}))


def test_token_command_prints_a_token_the_collector_accepts(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRSTCALL_COLLECT_SECRET", SECRET)
    args = build_parser().parse_args(["token", "--session", "s1", "--student", "u1",
                                      "--classroom", "c1", "--ttl-s", "600"])
    assert token.run(args) == 0
    grant = verify(capsys.readouterr().out.strip(), SECRET.encode(), time.time(), 21_600)
    assert isinstance(grant, SessionGrant) and grant.session_id == "s1"


async def test_http_and_websocket_events_reach_class_telemetry(kafka_bootstrap: str) -> None:
    kafka = isolated_settings(kafka_bootstrap)
    await create_topics(kafka)  # the workers create the topics; the collector only writes
    prefix = kafka.topics.telemetry.removesuffix("class.telemetry")
    port = free_port()
    opts = options(kafka_bootstrap, prefix, port)
    assert opts.config.allowed_origins == ("http://app.test", "http://other.test")
    ready = asyncio.Event()
    server = asyncio.create_task(collect.serve(opts, ready))
    await asyncio.wait_for(ready.wait(), 10)
    tok = mint(SessionGrant("s1", "u1", "c1", int(time.time()) + 600), SECRET.encode())
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            r = await http.post("/v1/events", json=[now_event("stats", "s1") | {
                "interval_ms": 2000, "rtt_ms": 1, "jitter_ms": 0, "loss_pct": 0,
                "recv_kbps": 100, "fps": 20, "freeze_ms": 0, "audio_stall_ms": 0}],
                headers={"authorization": f"Bearer {tok}"})
            assert r.status_code == 202, r.text
        url = f"ws://127.0.0.1:{port}/v1/stream?token={tok}"
        async with connect(url, origin="http://app.test") as ws:  # type: ignore[arg-type]
            await ws.send(json.dumps([now_event("heartbeat", "s1")]))
            assert json.loads(await ws.recv()) == {"seq": 1, "status": 202, "accepted": 1,
                                                   "rejected": []}
            await ws.send(json.dumps(now_event("heartbeat", "s9")))
            reply = json.loads(await ws.recv())
            assert reply["status"] == 400 and reply["rejected"][0]["reason"] == "wrong_session"
        with pytest.raises(InvalidStatus):
            async with connect(url, origin="http://evil.test"):  # type: ignore[arg-type]
                pass
        assert opts.config.topic == kafka.topics.telemetry
        got = await read_topic(kafka_bootstrap, kafka.topics.telemetry, until=2, timeout_s=15)
        assert [(r.key, json.loads(r.value)["type"]) for r in got] == [
            (b"s1", "stats"), (b"s1", "heartbeat")]
    finally:
        server.cancel()
        with pytest.raises(asyncio.CancelledError):
            await server
