"""The HTTP API: every endpoint behind a role, clear 4xx errors, the queue worked end to end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident, Outreach
from monitor.desk.api import ENDPOINTS
from monitor.desk.app import create_app
from monitor.desk.auth import PERMISSIONS
from tests.support.casedb import case_engine  # noqa: F401
from tests.support.desk_api import DeskClient, desk_client
from tests.support.desk_scenario import PHONES, T0, scripted_desk


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[DeskClient]:
    async with scripted_desk(tmp_path) as desk, desk_client(desk) as client:
        yield client


async def lag_case(api: DeskClient) -> str:
    await api.desk.run_to(80)
    queue = (await api.http.get("/api/queue", headers=api.auth("ann"))).json()
    [entry] = queue["waiting"]
    assert (entry["kind"], entry["reason"]) == ("lag", "sms_unanswered")  # chat, call, SMS
    return str(entry["case_id"])


def concrete(path: str) -> str:
    return path.replace("{case_id}", "case-x")


@pytest.mark.parametrize("ep", ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
async def test_every_endpoint_refuses_a_missing_malformed_or_unknown_token(
        api: DeskClient, ep: object) -> None:
    method, path = ep.method, concrete(ep.path)  # type: ignore[attr-defined]
    for headers, code in (({}, "missing_token"),
                          ({"Authorization": "Basic abc"}, "missing_token"),
                          ({"Authorization": "Bearer nonsense"}, "bad_token"),
                          ({"Authorization": "Bearer fc.000000000000.guess"}, "bad_token")):
        r = await api.http.request(method, path, headers=headers)
        assert (r.status_code, r.json()["error"]) == (401, code)
        assert r.headers["www-authenticate"] == "Bearer"


async def test_a_token_with_the_right_id_but_a_wrong_secret_is_refused(api: DeskClient) -> None:
    token_id = api.tokens["ann"].split(".")[1]
    r = await api.http.get("/api/me", headers={"Authorization": f"Bearer fc.{token_id}.wrong"})
    assert (r.status_code, r.json()["error"]) == (401, "bad_token")


@pytest.mark.parametrize("ep", ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
async def test_each_role_reaches_exactly_the_endpoints_its_permission_allows(
        api: DeskClient, ep: object) -> None:
    method, path = ep.method, concrete(ep.path)  # type: ignore[attr-defined]
    allowed = PERMISSIONS[ep.permission]  # type: ignore[attr-defined]
    for who, role in (("ann", "agent"), ("olga", "ops"), ("vic", "viewer")):
        r = await api.http.request(method, path, headers=api.auth(who), json={})
        if role in allowed:
            assert r.status_code not in (401, 403), (who, r.text)
        else:
            assert (r.status_code, r.json()["error"]) == (403, "forbidden"), (who, r.text)


async def test_roles_in_plain_words(api: DeskClient) -> None:
    assert PERMISSIONS["case:act"] == {"agent"}
    assert PERMISSIONS["report:read"] == {"ops", "viewer"}
    assert (await api.http.get("/api/queue", headers=api.auth("vic"))).status_code == 403
    assert (await api.http.get("/api/dashboard", headers=api.auth("vic"))).status_code == 200
    me = (await api.http.get("/api/me", headers=api.auth("olga"))).json()
    assert me == {"name": "olga", "role": "ops"}


async def test_the_openapi_description_lists_every_endpoint_with_its_roles(api: DeskClient) -> None:
    spec = (await api.http.get("/api/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    for ep in ENDPOINTS:
        op = spec["paths"][ep.path][ep.method.lower()]
        assert op["security"] == [{"bearer": []}]
        assert "401" in op["responses"] and "403" in op["responses"]
        for role in PERMISSIONS[ep.permission]:
            assert role in op["description"]
    assert spec["paths"]["/api/cases/{case_id}/resolve"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]["required"] == ["outcome"]


async def test_two_agents_claiming_at_once_one_gets_it_the_other_a_409(api: DeskClient) -> None:
    case_id = await lag_case(api)
    url = f"/api/cases/{case_id}/claim"
    ra, rb = await asyncio.gather(api.http.post(url, headers=api.auth("ann")),
                                  api.http.post(url, headers=api.auth("bob")))
    assert sorted([ra.status_code, rb.status_code]) == [200, 409]
    loser = rb if rb.status_code == 409 else ra
    winner = "ann" if loser is rb else "bob"
    assert loser.json() == {"error": "already_claimed", "detail": winner}
    case = (await api.http.get(f"/api/cases/{case_id}", headers=api.auth("olga"))).json()
    assert case["case"]["owner"] == winner


async def test_bad_requests_get_clear_errors(api: DeskClient) -> None:
    case_id = await lag_case(api)
    ann = api.auth("ann")
    r = await api.http.post("/api/cases/case-nope/claim", headers=ann)
    assert (r.status_code, r.json()["error"]) == (404, "no_such_case")
    r = await api.http.get("/api/cases/case-nope", headers=ann)
    assert (r.status_code, r.json()["error"]) == (404, "no_such_case")
    r = await api.http.post(f"/api/cases/{case_id}/resolve", headers=ann, json={})
    assert (r.status_code, r.json()) == (422, {"error": "missing_field", "detail": "outcome"})
    r = await api.http.post(f"/api/cases/{case_id}/resolve", headers=ann, content=b"{oops")
    assert (r.status_code, r.json()["error"]) == (400, "bad_json")
    r = await api.http.post(f"/api/cases/{case_id}/resolve", headers=ann,
                            json={"outcome": "resolved_by_call"})
    assert (r.status_code, r.json()["error"]) == (409, "not_owner")
    await api.http.post(f"/api/cases/{case_id}/claim", headers=ann)
    r = await api.http.post(f"/api/cases/{case_id}/resolve", headers=ann,
                            json={"outcome": "magic"})
    assert (r.status_code, r.json()["error"]) == (422, "unknown_outcome")
    r = await api.http.post(f"/api/cases/{case_id}/transfer", headers=ann, json={"to": "olga"})
    assert (r.status_code, r.json()["error"]) == (422, "unknown_agent")
    r = await api.http.get("/api/reports?by=weather", headers=api.auth("olga"))
    assert (r.status_code, r.json()["error"]) == (400, "bad_by")
    r = await api.http.get("/api/reports?since=yesterdayish", headers=api.auth("olga"))
    assert (r.status_code, r.json()["error"]) == (400, "bad_since")
    r = await api.http.delete("/api/queue", headers=ann)
    assert (r.status_code, r.json()["error"]) == (405, "method_not_allowed")
    r = await api.http.get("/api/nothing-here", headers=ann)
    assert (r.status_code, r.json()["error"]) == (404, "not_found")


async def test_pickup_shows_chart_device_line_timeline_and_script(api: DeskClient) -> None:
    case_id = await lag_case(api)
    v = (await api.http.get(f"/api/cases/{case_id}", headers=api.auth("ann"))).json()
    points = v["telemetry"]["points"]
    assert len(points["ts"]) == len(points["rtt_ms"]) >= 30
    assert max(points["rtt_ms"]) == 880.0 and min(points["fps"]) == 4.0
    assert v["context"]["device"] == "pc" and v["context"]["app_version"] == "5.1.3"
    assert v["context"]["teacher"] == "ms-berg"
    assert "edge-1" in v["line"]
    kinds = [e["kind"] for e in v["timeline"]]
    assert kinds[:3] == ["opened", "telemetry", "decision"]  # the snapshot at the case's start
    steps = [(e["data"]["channel"], e["data"]["step"], e["data"]["reason"])
             for e in v["timeline"] if e["kind"] == "fallback"]
    assert steps == [("chat", "call", "chat_unanswered"), ("call", "sms", "call_timeout"),
                     ("sms", "agent_queue", "sms_unanswered")]
    assert "stutter" in v["script"]["en"]
    assert (v["episodes"], v["recurrences"]) == ([], 0)  # the family's one problem so far


async def test_claim_call_transfer_resolve_and_the_report_shows_it(api: DeskClient) -> None:
    case_id = await lag_case(api)
    ann, bob = api.auth("ann"), api.auth("bob")
    assert (await api.http.post(f"/api/cases/{case_id}/claim", headers=ann)).status_code == 200
    r = await api.http.post(f"/api/cases/{case_id}/call", headers=ann)
    assert (r.status_code, r.json()["status"]) == (202, "queued")
    assert api.desk.calls.sent[-1].to == PHONES["stu-1"]  # the directory's, as the runtime's
    r = await api.http.post(f"/api/cases/{case_id}/transfer", headers=ann, json={"to": "bob"})
    assert r.json() == {"case_id": case_id, "owner": "bob"}
    r = await api.http.post(f"/api/cases/{case_id}/resolve", headers=bob,
                            json={"outcome": "resolved_by_call", "note": "router restarted"})
    assert (r.status_code, r.json()["error"]) == (409, "outcome_contradicts_record")  # unanswered
    r = await api.http.post(f"/api/cases/{case_id}/resolve", headers=bob, json={
        "outcome": "resolved_by_call", "note": "router restarted", "confirm": True})
    assert r.status_code == 200 and r.json()["outcome"] == "resolved_by_call"
    report = (await api.http.get("/api/reports?since=2025-12-31&by=classroom",
                                 headers=api.auth("vic"))).json()
    [room_a] = [g for g in report["rows"] if g["key"] == "room-a"]
    assert room_a["outcomes"] == {"resolved_by_call": 1}
    assert room_a["contacts"] == 4  # the chain's chat, call and SMS, then the agent's call
    r = await api.http.get("/api/reports.csv?since=2025-12-31&by=teacher",
                           headers=api.auth("olga"))
    assert r.headers["content-type"].startswith("text/csv")
    assert r.text.splitlines()[0].startswith("teacher,incidents,lesson_minutes_lost,contacts")
    assert any(line.startswith("ms-berg,1,") for line in r.text.splitlines())
    families = (await api.http.get("/api/reports/families?since=2025-12-31",
                                   headers=api.auth("vic"))).json()
    [family] = [f for f in families["contacts_per_family"] if f["student_id"] == "stu-1"]
    assert (family["cases"], family["contacts"]) == (1, 4)
    assert families["escalations_by_reason"] == {"sms_unanswered": 1}
    r = await api.http.get("/api/reports/families?since=soonish", headers=api.auth("vic"))
    assert r.status_code == 400


async def test_the_chart_is_saved_again_at_claim_so_it_outlives_the_memory_ring(
        api: DeskClient) -> None:
    case_id = await lag_case(api)
    await api.desk.run_to(120)
    await api.http.post(f"/api/cases/{case_id}/claim", headers=api.auth("ann"))
    saved = [e for e in await api.desk.live.desk.store.timeline(case_id)
             if e.kind == "telemetry"]
    assert [len(e.data["points"]["ts"]) for e in saved] == [12, 60]  # at open, at claim
    api.desk.live.ring.clear()  # as after a restart
    v = (await api.http.get(f"/api/cases/{case_id}", headers=api.auth("ann"))).json()
    assert len(v["telemetry"]["points"]["ts"]) == 60
    assert v["context"]["device"] == "pc"


async def test_take_next_claims_the_best_case_and_then_says_the_queue_is_empty(
        api: DeskClient) -> None:
    await api.desk.run_to(150)
    r = await api.http.post("/api/queue/next", headers=api.auth("ann"))
    first = r.json()["case_id"]
    assert first.startswith("case-") and r.status_code == 200
    r = await api.http.post("/api/queue/next", headers=api.auth("bob"))
    assert r.status_code == 200 and r.json()["case_id"] != first
    r = await api.http.post("/api/queue/next", headers=api.auth("bob"))
    assert (r.status_code, r.json()["error"]) == (404, "queue_empty")


async def test_the_api_works_the_same_on_postgresql(
        tmp_path: Path, case_engine: AsyncEngine) -> None:  # noqa: F811
    async with scripted_desk(tmp_path, case_engine) as desk:
        app = create_app(desk.live.desk, desk.users)
        ann, bob = await desk.users.add("ann", "agent"), await desk.users.add("bob", "agent")
        await desk.run_to(80)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                     base_url="http://desk") as http:
            queue = (await http.get("/api/queue",
                                    headers={"Authorization": f"Bearer {ann}"})).json()
            url = f"/api/cases/{queue['waiting'][0]['case_id']}/claim"
            got = await asyncio.gather(*(http.post(url, headers={"Authorization": f"Bearer {t}"})
                                         for t in (ann, bob, ann, bob)))
        assert sorted(r.status_code for r in got).count(200) == 1


async def test_metrics_show_the_queue_contacts_and_claims_without_personal_data(
        api: DeskClient) -> None:
    await api.desk.run_to(150)
    case_id = (await api.http.get("/api/queue", headers=api.auth("ann"))).json()[
        "waiting"][0]["case_id"]
    await api.http.post(f"/api/cases/{case_id}/claim", headers=api.auth("ann"))
    await api.http.post(f"/api/cases/{case_id}/claim", headers=api.auth("bob"))
    text = (await api.http.get("/metrics")).text
    assert "firstcall_queue_depth 1.0" in text
    assert "firstcall_queue_held 1.0" in text
    assert "firstcall_first_contact_seconds_count 2.0" in text
    assert 'firstcall_claims_total{result="won"} 1.0' in text
    assert 'firstcall_claims_total{result="conflict"} 1.0' in text
    assert "stu-" not in text and "+47" not in text


async def test_the_familys_next_case_shows_the_earlier_one_and_is_offered_to_its_last_helper(
        api: DeskClient) -> None:
    case_id = await lag_case(api)
    ann = api.auth("ann")
    await api.http.post(f"/api/cases/{case_id}/claim", headers=ann)
    await api.http.post(f"/api/cases/{case_id}/resolve", headers=ann,
                        json={"outcome": "resolved_by_call", "note": "wifi extender",
                              "confirm": True})  # a call on the agent's own phone
    await api.desk.live.handle(Incident(
        incident_id="disconnect-again", kind="disconnect", state="open", started_at=T0 + 90_000,
        detected_at=T0 + 100_000, ended_at=None, line={"edge": "edge-1"}, evidence={},
        session_id="s1", student_id="stu-1", classroom_id="room-a"))
    await api.desk.live.handle(Outreach("disconnect-again", "case-again", "s1", "stu-1",
                                        "agent_queue", "disconnect", T0 + 100_000))
    presence = api.app.state.api.presence
    for agent in ("bob", "ann"):  # bob has been idle longer, but ann helped this family
        presence.connect(agent)
    queue = (await api.http.get("/api/queue", headers=ann)).json()
    [again] = [w for w in queue["waiting"] if w["case_id"] == "case-again"]
    assert (again["offered_to"], again["last_helper"]) == ("ann", "ann")
    view = (await api.http.get("/api/cases/case-again", headers=ann)).json()
    assert [(c["case_id"], c["outcome"]) for c in view["earlier_cases"]] == [
        (case_id, "resolved_by_call")]
    r = await api.http.post("/api/queue/next", headers=api.auth("bob"))
    assert (r.status_code, r.json()["error"]) == (404, "queue_empty")  # it waits for ann
    r = await api.http.post("/api/queue/next", headers=ann)
    assert r.json() == {"case_id": "case-again"}


async def test_pages_and_answers_carry_a_strict_content_security_policy(api: DeskClient) -> None:
    for path in ("/console", "/api/me", "/static/console.js"):
        r = await api.http.get(path, headers=api.auth("ann"))
        assert r.status_code == 200
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"


async def test_the_pages_have_a_favicon_without_a_token(api: DeskClient) -> None:
    r = await api.http.get("/favicon.ico")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/x-icon"
    assert r.content[:4] == b"\x00\x00\x01\x00"  # an icon directory
    assert r.content[22:26] == b"\x89PNG"  # holding one PNG image


async def test_a_problem_joining_a_claimed_case_moves_it_up_and_adds_no_queue_item(
    api: DeskClient,
) -> None:
    await api.desk.run_to(150)  # stu-1's lag (20 s) and stu-2's drop (120 s) both wait
    ann = api.auth("ann")
    waiting = (await api.http.get("/api/queue", headers=ann)).json()["waiting"]
    by_kind = {w["kind"]: w["case_id"] for w in waiting}
    for case_id in by_kind.values():
        assert (await api.http.post(f"/api/cases/{case_id}/claim", headers=ann)).status_code == 200
    queue = (await api.http.get("/api/queue", headers=ann)).json()
    assert [h["kind"] for h in queue["held"]] == ["disconnect", "lag"]  # newest problem first
    entries = len(await api.desk.live.desk.queue.rows())
    # stu-1's link fails again (a flapping of the same session): it joins ann's lag case.
    again = Incident("flapping-s1-again", "flapping", "open", T0 + 140_000, T0 + 150_000, None,
                     {"edge": "edge-1"}, {}, "s1", "stu-1", "room-a")  # fmt: skip
    await api.desk.live.handle(again)
    queue = (await api.http.get("/api/queue", headers=ann)).json()
    assert [(h["kind"], h["case_id"]) for h in queue["held"]] == [
        ("lag", by_kind["lag"]), ("disconnect", by_kind["disconnect"])]  # the joined one rose
    assert queue["held"][0]["last_problem_at"] == T0 + 140_000
    assert queue["waiting"] == [] and len(await api.desk.live.desk.queue.rows()) == entries
    v = (await api.http.get(f"/api/cases/{by_kind['lag']}", headers=ann)).json()
    assert v["recurrences"] == 1 and v["case"]["owner"] == "ann"
    # For the technician: where the problem is, how often, and what to check on a pc.
    assert v["recurring"]["diagnosis"].startswith(
        "recurring on the family's side: line healthy, 2 episodes, ")
    assert "closer to the Wi-Fi router" in " ".join(v["recurring"]["steps"])
    other = (await api.http.get(f"/api/cases/{by_kind['disconnect']}", headers=ann)).json()
    assert other["recurring"] is None  # one problem so far


async def test_the_dashboard_counts_family_cases_escalated_by_reason(api: DeskClient) -> None:
    case_id = await lag_case(api)
    olga = api.auth("olga")
    assert (await api.http.get("/api/dashboard", headers=olga)).json()["escalated"] == {}
    for n, reason in enumerate(["escalated_recurring", "escalated_dropped", "escalated_dropped"]):
        action = "agent_queue" if reason == "escalated_recurring" else "call"
        await api.desk.live.desk.apply(Outreach(f"lag-s1-{n}", case_id, "s1", "stu-1", action,
                                                reason, T0 + 90_000 + n))  # type: ignore[arg-type]
    d = (await api.http.get("/api/dashboard", headers=olga)).json()
    assert d["escalated"] == {"escalated_dropped": 2, "escalated_recurring": 1}
    assert "joined_open_case" not in d["escalated"]
