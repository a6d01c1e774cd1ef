"""Metrics on an injected registry, the probe endpoints, and phone numbers kept out of logs."""

from __future__ import annotations

import asyncio
import io
import logging

import orjson
import pytest

from monitor.platform.http_probe import ProbeServer
from monitor.platform.logging import (
    REDACTED,
    bind_ids,
    clear_ids,
    configure,
    get_logger,
    redact_text,
    reset,
)
from monitor.platform.metrics import Metrics


@pytest.mark.parametrize(
    "text",
    [
        "call +14155552671 now",
        "call +1 415 555 2671 now",
        "call +44 20 7946 0958 now",
        "call (415) 555-2671 now",
        "call 415-555-2671 now",
        "call 415.555.2671 now",
        "call +49 151 23456789 now",
        "call 0151 2345 6789 now",
    ],
)
def test_phone_numbers_in_common_formats_are_redacted(text: str) -> None:
    assert redact_text(text) == f"call {REDACTED} now"


@pytest.mark.parametrize(
    "text",
    [
        "ts=1795000238078",  # epoch milliseconds
        "offset 4435 of 1000000 records",
        "incident disconnect-2bb1f9dade0aaceb576e",
        "2026-11-23T06:54:15.968Z",
        "sess-000123 in room-00020",
    ],
)
def test_timestamps_ids_and_counters_are_left_alone(text: str) -> None:
    assert redact_text(text) == text


def test_log_lines_are_json_with_bound_ids_and_no_phone_anywhere() -> None:
    out = io.StringIO()
    configure("INFO", stream=out)
    try:
        bind_ids(session_id="s1", classroom_id="room-1")
        log = get_logger("test", worker="w1")
        log.info(
            "calling family at +1 415 555 2671",
            phone="+14155552671",
            detail={"to_number": "4155552671", "note": "or (415) 555-2671"},
            attempts=[{"number": "+44 20 7946 0958"}],
        )
    finally:
        clear_ids()
        reset()
    line = orjson.loads(out.getvalue().strip().splitlines()[-1])
    assert line["session_id"] == "s1" and line["classroom_id"] == "room-1"
    assert line["component"] == "test" and line["worker"] == "w1"
    assert line["level"] == "info" and "timestamp" in line
    text = out.getvalue()
    for digits in ("4155552671", "555 2671", "555-2671", "7946"):
        assert digits not in text
    assert line["phone"] == REDACTED
    assert line["detail"]["to_number"] == REDACTED


def test_library_log_lines_through_the_logging_module_are_json_too() -> None:
    # aiokafka logs with the standard library ("Heartbeat failed ... rebalancing"): those
    # lines must not break a stream of JSON objects, and phone numbers go there too.
    out = io.StringIO()
    configure("INFO", stream=out)
    try:
        logging.getLogger("aiokafka.consumer.group_coordinator").warning(
            "Heartbeat failed for group %s because it is rebalancing", "firstcall-worker")
        logging.getLogger("some.library").info("texting +1 415 555 2671")
        logging.getLogger("noisy").debug("below the level")
    finally:
        reset()
    lines = [orjson.loads(x) for x in out.getvalue().strip().splitlines()]
    assert [(x["logger"], x["level"]) for x in lines] == [
        ("aiokafka.consumer.group_coordinator", "warning"), ("some.library", "info")]
    assert lines[0]["event"] == "Heartbeat failed for group firstcall-worker because it is " \
        "rebalancing"
    assert "2671" not in out.getvalue() and "timestamp" in lines[1]
    assert not [h for h in logging.getLogger().handlers if h.get_name() == "firstcall-json"]


def test_metrics_live_on_their_own_registry() -> None:
    a, b = Metrics.create(), Metrics.create()
    a.events.labels("stats").inc(3)
    a.bad_records.labels("not_json").inc()
    a.decision_latency.labels("arrival").observe(0.04)
    assert a.registry.get_sample_value("firstcall_events_total", {"type": "stats"}) == 3
    assert b.registry.get_sample_value("firstcall_events_total", {"type": "stats"}) is None
    assert (
        a.registry.get_sample_value(
            "firstcall_decision_latency_seconds_bucket", {"since": "arrival", "le": "0.05"}
        )
        == 1
    )


async def _get(port: int, path: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, body = raw.split(b"\r\n\r\n", 1)
    return int(head.split()[1]), body


async def test_probe_serves_metrics_health_and_readiness() -> None:
    metrics = Metrics.create()
    metrics.rebalances.labels("assigned").inc()
    ready = False
    probe = ProbeServer(metrics.registry, lambda: ready)
    await probe.start()
    try:
        assert await _get(probe.port, "/healthz") == (200, b"ok\n")
        assert (await _get(probe.port, "/readyz"))[0] == 503
        ready = True
        assert (await _get(probe.port, "/readyz"))[0] == 200
        status, body = await _get(probe.port, "/metrics")
        assert status == 200
        assert b'firstcall_rebalances_total{event="assigned"} 1.0' in body
        assert (await _get(probe.port, "/nope"))[0] == 404
    finally:
        await probe.stop()


def test_tokens_in_library_lines_are_redacted() -> None:
    # an access log or the websockets library naming a chat or desk token (a logger of our
    # own for the access line: uvicorn, started by other tests, sets uvicorn.access's level)
    out = io.StringIO()
    configure("DEBUG", stream=out)
    try:
        logging.getLogger("tests.proxy.access").info(
            '%s - "GET %s HTTP/1.1" 101', "10.0.0.7", "/?token=stu-1.1800000600.c2lnbmF0dXJl")
        logging.getLogger("websockets.server").debug(
            "< Authorization: Bearer fc.0a1b2c.s3cretS3cret")
    finally:
        reset()
    text = out.getvalue()
    assert "c2lnbmF0dXJl" not in text and "s3cretS3cret" not in text
    lines = [orjson.loads(x) for x in text.strip().splitlines()]
    assert [x["event"] for x in lines] == ['10.0.0.7 - "GET /?token=[redacted] HTTP/1.1" 101',
                                           "< Authorization: Bearer [redacted]"]
