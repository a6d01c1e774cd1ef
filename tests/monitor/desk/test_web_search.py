"""The agent's basics over HTTP: search, queue filters, the amber SLA warning, the family
before a call (masked phones) with the chat transcript, and the desk's clock speed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.desk.app import create_app
from outreach.store.outbox import Outbox
from tests.support.casedb import case_engine  # noqa: F401
from tests.support.desk_api import DeskClient, desk_client
from tests.support.desk_scenario import PHONES, scripted_desk

USERS = (("ann", "agent"), ("olga", "ops"), ("vic", "viewer"))

async def _client(tmp_path: Path, engine: AsyncEngine | None = None,
                  **app_args: Any) -> AsyncIterator[DeskClient]:
    async with scripted_desk(tmp_path, engine) as desk:
        app = create_app(desk.live.desk, desk.users, **app_args)
        async with desk_client(desk, USERS, app) as client:
            yield client


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[DeskClient]:
    async for client in _client(tmp_path, sla_warn_ms=60_000, time_speed=10.0):
        yield client


async def two_cases(api: DeskClient) -> dict[str, str]:
    """stu-1's lag and stu-2's disconnect, both queued: student -> case id."""
    await api.desk.run_to(150)
    queue = (await api.http.get("/api/queue", headers=api.auth("ann"))).json()
    return {w["student_id"]: w["case_id"] for w in queue["waiting"]}


async def find(api: DeskClient, who: str = "ann", **params: str) -> httpx.Response:
    return await api.http.get("/api/search", params=params, headers=api.auth(who))


async def test_search_finds_a_case_by_student_guardian_phone_digits_or_case_id(
        api: DeskClient) -> None:
    ids = await two_cases(api)
    by_student = (await find(api, q="stu-1")).json()["results"]
    assert [(r["case_id"], r["matched"]) for r in by_student] == [(ids["stu-1"], "student")]
    by_guardian = (await find(api, q="grandma STU-2")).json()["results"]
    assert [(r["case_id"], r["matched"]) for r in by_guardian] == [(ids["stu-2"], "guardian")]
    by_phone = (await find(api, q="4561")).json()["results"]
    assert [(r["case_id"], r["matched"], r["phone"]) for r in by_phone] == [
        (ids["stu-1"], "phone", "+47****4561")]
    by_case = (await find(api, q=ids["stu-2"])).json()["results"]
    assert [(r["case_id"], r["matched"], r["kind"]) for r in by_case] == [
        (ids["stu-2"], "case", "disconnect")]


async def test_search_never_answers_a_whole_phone_number_nor_lists_by_a_few_digits(
        api: DeskClient) -> None:
    await two_cases(api)
    for q in ("456", "4561", "91234562", "+47 912 345 63", "grandma", "stu", ""):
        text = (await find(api, q=q)).text
        assert not any(phone in text or phone[1:] in text for phone in PHONES.values()), q
    # Fewer than 4 digits are not a phone search (and match no name here).
    assert (await find(api, q="61")).json()["results"] == []
    # LIKE wildcards are taken literally.
    assert (await find(api, q="%")).json()["results"] == []
    assert (await find(api, q="stu_1")).json()["results"] == []


async def test_search_filters_by_kind_state_and_classroom(api: DeskClient) -> None:
    ids = await two_cases(api)
    lag = (await find(api, kind="lag")).json()
    assert [r["case_id"] for r in lag["results"]] == [ids["stu-1"]]
    room_b = (await find(api, q="stu", classroom="room-b")).json()["results"]
    assert [r["student_id"] for r in room_b] == ["stu-2"]
    waiting = (await find(api, state="waiting_agent")).json()["results"]
    assert sorted(r["student_id"] for r in waiting) == ["stu-1", "stu-2"]
    assert all(r["matched"] == "filter" for r in waiting)
    assert (await find(api, state="closed")).json()["results"] == []


async def test_search_is_bounded_checked_and_only_for_desk_roles(api: DeskClient) -> None:
    await two_cases(api)
    for params, code in (({"q": "x" * 65}, "query_too_long"), ({"kind": "boom"}, "bad_kind"),
                         ({"state": "sleeping"}, "bad_state"), ({"limit": "51"}, "bad_limit"),
                         ({"limit": "two"}, "bad_limit"), ({"classroom": "r" * 129},
                                                          "bad_classroom")):
        r = await find(api, **params)
        assert (r.status_code, r.json()["error"]) == (400, code), params
    assert len((await find(api, limit="1")).json()["results"]) == 1
    assert (await find(api, who="olga", q="stu-1")).status_code == 200
    assert (await find(api, who="vic", q="stu-1")).status_code == 403
    r = await api.http.get("/api/search", params={"q": "stu-1"})
    assert r.status_code == 401


async def test_the_queue_filters_keep_the_whole_queues_rank(api: DeskClient) -> None:
    ids = await two_cases(api)
    ann = api.auth("ann")
    lag = (await api.http.get("/api/queue", params={"kind": "lag"}, headers=ann)).json()
    assert [(w["case_id"], w["rank"]) for w in lag["waiting"]] == [(ids["stu-1"], 2)]
    assert (lag["total_waiting"], lag["filters"]) == (2, {"kind": "lag"})
    room_b = (await api.http.get("/api/queue", params={"classroom": "room-b"},
                                 headers=ann)).json()
    assert [w["student_id"] for w in room_b["waiting"]] == ["stu-2"]
    await api.http.post(f"/api/cases/{ids['stu-2']}/claim", headers=ann)
    held = (await api.http.get("/api/queue", params={"state": "held"}, headers=ann)).json()
    assert (held["waiting"], [h["case_id"] for h in held["held"]]) == ([], [ids["stu-2"]])
    waiting = (await api.http.get("/api/queue", params={"state": "waiting"},
                                  headers=ann)).json()
    assert ([w["case_id"] for w in waiting["waiting"]], waiting["held"]) == ([ids["stu-1"]], [])
    r = await api.http.get("/api/queue", params={"state": "closed"}, headers=ann)
    assert (r.status_code, r.json()["error"]) == (400, "bad_state")


async def test_a_queued_case_turns_amber_before_its_sla_and_red_after(api: DeskClient) -> None:
    await api.desk.run_to(50)  # the lag (queued at ~40 s) has more than 60 s of its 120 left
    [early] = (await api.http.get("/api/queue", headers=api.auth("ann"))).json()["waiting"]
    assert (early["sla_warning"], early["breached"]) == (False, False)
    await api.desk.run_to(150)  # ~110 s waited: less than the 60 s warning left
    queue = (await api.http.get("/api/queue", headers=api.auth("ann"))).json()
    lag = next(w for w in queue["waiting"] if w["kind"] == "lag")
    assert (lag["sla_warning"], lag["breached"], queue["sla_warn_ms"]) == (True, False, 60_000)
    assert 0 < lag["sla_left_ms"] <= 60_000
    await api.desk.run_to(200)
    queue = (await api.http.get("/api/queue", headers=api.auth("ann"))).json()
    lag = next(w for w in queue["waiting"] if w["kind"] == "lag")
    assert (lag["sla_warning"], lag["breached"]) == (False, True)  # past it: red, not amber


async def test_the_family_shows_the_guardian_masked_and_the_chat_transcript(
        api: DeskClient) -> None:
    ids = await two_cases(api)
    case_id = ids["stu-1"]
    outbox = Outbox(api.desk.engine, api.desk.live.clock)
    await outbox.add("stu-1", {"text": "Your class video is stuttering."}, case_id=case_id,
                     message_id="m-1")
    await outbox.add("stu-2", {"text": "not this family's"}, case_id=ids["stu-2"])
    await api.desk.live.desk.store.add_event(
        case_id, "chat_reply", {"reply_id": "r1", "text": "still bad", "intent": "needs_help"},
        actor="family:stu-1", at=api.desk.live.clock() + 1)
    got = (await api.http.get(f"/api/cases/{case_id}/family", headers=api.auth("ann"))).json()
    [g] = got["family"]["guardians"]
    assert (g["name"], g["relation"], g["language"], g["phone"]) == (
        "Grandma stu-1", "grandmother", "en", "+47****4561")
    assert PHONES["stu-1"] not in str(got)
    said = [(line["from"], line["text"]) for line in got["transcript"]]
    assert ("firstcall", "Your class video is stuttering.") in said
    assert said[-1] == ("family", "still bad")
    assert "not this family's" not in str(got)
    # The scenario's chat channel keeps no outbox: its message is listed, its words not.
    assert any(line["from"] == "firstcall" and line["text"] is None
               for line in got["transcript"])
    r = await api.http.get("/api/cases/case-nope/family", headers=api.auth("ann"))
    assert (r.status_code, r.json()["error"]) == (404, "no_such_case")


async def test_the_clock_says_how_much_faster_than_real_time_the_desk_runs(
        api: DeskClient) -> None:
    got = (await api.http.get("/api/clock", headers=api.auth("vic"))).json()
    assert got["speed"] == 10.0


async def test_search_works_the_same_on_postgresql(
        tmp_path: Path, case_engine: AsyncEngine) -> None:  # noqa: F811
    async for api in _client(tmp_path, case_engine):
        ids = await two_cases(api)
        got = (await find(api, q="GRANDMA stu-1")).json()["results"]
        assert [r["case_id"] for r in got] == [ids["stu-1"]]
        got = (await find(api, q="4562")).json()["results"]
        assert [(r["case_id"], r["phone"]) for r in got] == [(ids["stu-2"], "+47****4562")]
        assert (await find(api, q="stu_1")).json()["results"] == []
