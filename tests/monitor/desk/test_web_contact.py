"""The agent reaches the family from a case: the call's result, SMS, call back, honest outcomes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from outreach.channels.twilio_callbacks import timeline_sink
from outreach.decide.signals import CallbackEvent, classify
from tests.support.desk_api import DeskClient, desk_client
from tests.support.desk_scenario import PHONES, T0, scripted_desk


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[DeskClient]:
    agents = (("ann", "agent"), ("bob", "agent"))
    async with scripted_desk(tmp_path) as desk, desk_client(desk, agents) as client:
        yield client


async def claimed(api: DeskClient, kind: str) -> str:
    await api.desk.run_to(150)
    queue = (await api.http.get("/api/queue", headers=api.auth("ann"))).json()
    case_id = next(w["case_id"] for w in queue["waiting"] if w["kind"] == kind)
    r = await api.http.post(f"/api/cases/{case_id}/claim", headers=api.auth("ann"))
    assert r.status_code == 200
    return str(case_id)


async def callback(api: DeskClient, case_id: str, message_id: str, status: str) -> None:
    sink = timeline_sink(api.desk.live.desk.store)
    await sink(CallbackEvent(classify("call", status), "call", status, "CA1", case_id,
                             message_id))


async def test_a_failed_call_says_no_answer_offers_sms_and_call_back(api: DeskClient) -> None:
    case_id = await claimed(api, "disconnect")  # stu-2's phone does not answer
    ann = api.auth("ann")
    r = await api.http.post(f"/api/cases/{case_id}/call", headers=ann)
    assert (r.status_code, r.json()["status"], r.json()["reason"]) == (502, "failed", "no-answer")
    view = (await api.http.get(f"/api/cases/{case_id}", headers=ann)).json()
    assert (view["call"]["state"], view["call"]["offers"]) == (
        "no_answer", ["retry", "sms", "call_back"])

    r = await api.http.post(f"/api/cases/{case_id}/sms", headers=ann)
    assert (r.status_code, r.json()["status"]) == (202, "delivered")
    assert api.desk.sms.sent[-1].to == PHONES["stu-2"]
    assert api.desk.sms.sent[-1].message_id == f"{case_id}:agent-sms:1"

    r = await api.http.post(f"/api/cases/{case_id}/call-back", headers=ann, json={"in_minutes": 30})
    assert r.json()["due_at"] == T0 + 150_000 + 30 * 60_000
    for bad in ({"in_minutes": 0}, {"in_minutes": "5"}, {"in_minutes": 100_000}):
        r = await api.http.post(f"/api/cases/{case_id}/call-back", headers=ann, json=bad)
        assert (r.status_code, r.json()["error"]) == (422, "bad_in_minutes")
    r = await api.http.post(f"/api/cases/{case_id}/sms", headers=api.auth("bob"))
    assert (r.status_code, r.json()["error"]) == (409, "not_owner")
    view = (await api.http.get(f"/api/cases/{case_id}", headers=ann)).json()
    assert view["call_back_due_at"] == T0 + 150_000 + 30 * 60_000
    kinds = [e["kind"] for e in view["timeline"] if e["actor"] == "ann" and e["kind"] != "attempt"]
    assert kinds[-3:] == ["call", "sms", "call_back_scheduled"]


async def test_resolved_by_call_after_an_unanswered_call_needs_a_confirmation(
        api: DeskClient) -> None:
    case_id = await claimed(api, "disconnect")
    ann = api.auth("ann")
    await api.http.post(f"/api/cases/{case_id}/call", headers=ann)
    r = await api.http.post(f"/api/cases/{case_id}/resolve", headers=ann,
                            json={"outcome": "resolved_by_call"})
    assert (r.status_code, r.json()["error"]) == (409, "outcome_contradicts_record")
    assert r.json()["detail"] == "no call on this case was answered (last: no answer)"
    r = await api.http.post(f"/api/cases/{case_id}/resolve", headers=ann,
                            json={"outcome": "resolved_by_call", "confirm": "yes"})
    assert (r.status_code, r.json()["error"]) == (422, "bad_confirm")
    r = await api.http.post(f"/api/cases/{case_id}/resolve", headers=ann,
                            json={"outcome": "resolved_by_call", "confirm": True})
    assert (r.status_code, r.json()["outcome"]) == (200, "resolved_by_call")
    timeline = await api.desk.live.desk.store.timeline(case_id)
    [confirmed] = [e for e in timeline if e.kind == "outcome_confirmed"]
    assert (confirmed.actor, confirmed.data["despite"]) == (
        "ann", "no call on this case was answered (last: no answer)")


async def test_an_answered_call_moves_live_and_resolves_by_call_without_a_question(
        api: DeskClient) -> None:
    case_id = await claimed(api, "lag")  # stu-1's phone rings
    ann = api.auth("ann")
    assert (await api.http.post(f"/api/cases/{case_id}/call", headers=ann)).status_code == 202
    states = []
    for status in ("ringing", "in-progress"):
        await callback(api, case_id, f"{case_id}:agent-call:1", status)
        states.append((await api.http.get(f"/api/cases/{case_id}",
                                          headers=ann)).json()["call"]["state"])
    assert states == ["ringing", "answered"]
    r = await api.http.post(f"/api/cases/{case_id}/resolve", headers=ann,
                            json={"outcome": "no_answer"})
    assert (r.status_code, r.json()["detail"]) == (409, "a call on this case was answered")
    r = await api.http.post(f"/api/cases/{case_id}/resolve", headers=ann,
                            json={"outcome": "resolved_by_call"})
    assert r.status_code == 200
