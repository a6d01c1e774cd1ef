"""POST /v1/events: authenticated, limited, validated, produced, answered after the ack."""

from __future__ import annotations

import json

from monitor.collect.ingest import WRONG_SESSION
from monitor.streaming.dlq import REASON_HEADER, SOURCE_HEADER
from tests.support.collect_client import ORIGIN, collector_rig, event, token
from tests.support.collect_fakes import FakeProducer


async def test_events_are_produced_keyed_by_session_and_answered_202() -> None:
    async with collector_rig() as rig:
        sent = [event("join", client={"app_version": "1", "os": "x", "device": "pc"},
                      network={"conn": "wifi", "isp": "i", "region": "r", "edge": "e"}),
                event("stats")]
        r = await rig.post(sent, token())
        assert r.status_code == 202
        assert r.json() == {"accepted": 2, "rejected": []}
        assert [(t, k) for t, k, _v, _h in rig.producer.acked] == [
            ("class.telemetry", b"s1"), ("class.telemetry", b"s1")]
        assert [json.loads(v)["type"] for v in rig.producer.values("class.telemetry")] == [
            "join", "stats"]


async def test_ndjson_and_text_plain_beacons_are_accepted_with_the_token_in_the_query() -> None:
    async with collector_rig() as rig:
        body = b"\n".join(json.dumps(e).encode() for e in (event("stats"), event("leave")))
        r = await rig.http.post(f"/v1/events?token={token()}", content=body,
                                headers={"content-type": "text/plain;charset=UTF-8"})
        assert r.status_code == 202 and r.json()["accepted"] == 2
        assert json.loads(rig.producer.values("class.telemetry")[-1])["type"] == "leave"


async def test_bad_events_get_a_reason_each_and_go_to_the_dlq() -> None:
    async with collector_rig() as rig:
        r = await rig.post([event("stats"), event("stats", fps=-1), event("stats", v=2)], token())
        assert r.status_code == 202
        assert r.json()["accepted"] == 1
        assert [(e["index"], e["reason"]) for e in r.json()["rejected"]] == [
            (1, "out_of_range"), (2, "unknown_version")]
        dlq = [(h, v) for t, _k, v, h in rig.producer.acked if t == "class.telemetry.dlq"]
        assert [dict(h)[REASON_HEADER] for h, _v in dlq] == [b"out_of_range",
                                                              b"unknown_version"]
        assert dict(dlq[0][0])[SOURCE_HEADER] == b"collect/s1"
        assert json.loads(dlq[0][1])["fps"] == -1  # the original event, unchanged


async def test_events_of_another_session_are_refused_and_not_produced() -> None:
    async with collector_rig() as rig:
        r = await rig.post([event("stats", session="s2"), event("stats", student="u9")],
                           token())
        assert r.status_code == 400
        assert [e["reason"] for e in r.json()["rejected"]] == [WRONG_SESSION] * 2
        assert rig.producer.acked == []


async def test_no_or_bad_token_is_401() -> None:
    async with collector_rig() as rig:
        assert (await rig.post([event()])).status_code == 401
        r = await rig.post([event()], token(ttl_s=-5))
        assert r.status_code == 401 and r.json()["detail"] == "expired"
        assert rig.producer.acked == []


async def test_limits_body_events_and_rate() -> None:
    async with collector_rig(rate_per_s=1, burst=3, max_events=5) as rig:
        big = await rig.post(b"[" + b" " * 20_000 + b"]", token())
        assert big.status_code == 413
        many = await rig.post([event()] * 6, token())
        assert many.status_code == 413 and many.json()["error"] == "too_many_events"
        assert (await rig.post([event()] * 3, token())).status_code == 202
        limited = await rig.post([event()] * 2, token())
        assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
        other = await rig.post([event(session="s2")], token(session="s2"))
        assert other.status_code == 202  # one session's rate does not hold up another
        assert len(rig.producer.acked) == 4


async def test_broker_down_is_503_with_retry_after_and_nothing_acknowledged_is_lost() -> None:
    producer = FakeProducer(up=False)
    async with collector_rig(producer, capacity=3) as rig:
        slow = await rig.post([event(ts=1_800_000_000_000 + i) for i in range(2)], token())
        assert slow.status_code == 503 and slow.json()["error"] == "broker_slow"
        assert slow.headers["retry-after"] == "2"
        full = await rig.post([event()] * 2, token())
        assert full.status_code == 503 and full.json()["error"] == "buffer_full"
        assert (await rig.http.get("/readyz")).status_code == 503
        producer.up = True
        ok = await rig.post([event(ts=1_800_000_000_009)], token())
        assert ok.status_code == 202
        assert [json.loads(v)["ts"] % 10 for v in producer.values("class.telemetry")] == [
            0, 1, 9]
        assert (await rig.http.get("/readyz")).status_code == 200


async def test_cors_only_for_configured_origins() -> None:
    async with collector_rig() as rig:
        pre = {"access-control-request-method": "POST",
               "access-control-request-headers": "authorization,content-type"}
        ok = await rig.http.options("/v1/events", headers={"origin": ORIGIN, **pre})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == ORIGIN
        bad = await rig.http.options("/v1/events", headers={"origin": "https://evil", **pre})
        assert bad.status_code == 400
        assert "access-control-allow-origin" not in bad.headers
        r = await rig.post([event()], token(), headers={"origin": "https://evil"})
        assert "access-control-allow-origin" not in r.headers


async def test_probes_and_metrics() -> None:
    async with collector_rig() as rig:
        await rig.post([event(), event(fps=-1)], token())
        assert (await rig.http.get("/healthz")).status_code == 200
        assert (await rig.http.get("/readyz")).status_code == 200
        text = (await rig.http.get("/metrics")).text
        assert 'firstcall_collect_events_total{type="stats"} 1.0' in text
        assert 'firstcall_collect_rejected_total{reason="out_of_range"} 1.0' in text
        assert 'firstcall_collect_requests_total{status="202",transport="http"} 1.0' in text


async def test_the_sdk_is_served_as_a_javascript_module_to_allowed_origins() -> None:
    async with collector_rig() as rig:
        r = await rig.http.get("/sdk/firstcall.js", headers={"origin": ORIGIN})
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/javascript")
        assert r.headers["access-control-allow-origin"] == ORIGIN
        assert "export function attach(" in r.text
