"""GET /api/queue: one encoded view for every console, 304 when unchanged, each console right."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from detectors.records import Incident, Outreach
from monitor.desk.app import create_app
from monitor.desk.queue_json import EncodedViews, encode, etag_matches
from tests.monitor.desk.test_web_api import lag_case
from tests.support.desk_api import ROLES, DeskClient, desk_client
from tests.support.desk_scenario import T0, scripted_desk


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def trusted(tmp_path: Path) -> AsyncIterator[tuple[DeskClient, Clock]]:
    """The API as on PostgreSQL with its notices listening: views kept until a change."""
    async with scripted_desk(tmp_path) as desk:
        app = create_app(desk.live.desk, desk.users)
        clock = Clock()
        app.state.api.trust_notices = lambda: True
        app.state.api.queue_views = EncodedViews(clock)
        async with desk_client(desk, ROLES[:3], app) as client:
            yield client, clock


def builds(api: DeskClient) -> int:
    return int(api.app.state.api.queue_views.builds)


async def test_an_unchanged_queue_is_a_304_without_a_body_and_a_change_a_new_200(
        trusted: tuple[DeskClient, Clock]) -> None:
    api, _ = trusted
    case_id = await lag_case(api)
    first = await api.http.get("/api/queue", headers=api.auth("ann"))
    tag = first.headers["etag"]
    assert first.status_code == 200 and tag.startswith('W/"')
    assert first.headers["cache-control"] == "private, no-cache"
    again = await api.http.get("/api/queue", headers={**api.auth("bob"), "If-None-Match": tag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", tag)
    listed = await api.http.get("/api/queue", headers={
        **api.auth("ann"), "If-None-Match": f'"other", {tag.removeprefix("W/")}'})
    assert listed.status_code == 304  # a list, and the weak comparison
    await api.http.post(f"/api/cases/{case_id}/claim", headers=api.auth("ann"))
    after = await api.http.get("/api/queue", headers={**api.auth("bob"), "If-None-Match": tag})
    assert after.status_code == 200 and after.headers["etag"] != tag
    assert [(h["case_id"], h["owner"]) for h in after.json()["held"]] == [(case_id, "ann")]


async def test_fifty_consoles_polling_an_unchanged_queue_cost_one_build(
        trusted: tuple[DeskClient, Clock]) -> None:
    api, clock = trusted
    await lag_case(api)
    clock.now += 1.5  # waits and ages are at most a second old: the next asker builds
    before = builds(api)
    got = await asyncio.gather(*(api.http.get("/api/queue", headers=api.auth(who))
                                 for who in ["ann", "bob", "olga"] * 17))
    assert {r.content for r in got} == {got[0].content} and builds(api) == before + 1
    clock.now += 0.5
    await api.http.get("/api/queue", headers=api.auth("ann"))
    assert builds(api) == before + 1


async def test_each_console_sees_its_own_offer_holding_and_who_is_online(
        trusted: tuple[DeskClient, Clock]) -> None:
    api, _ = trusted
    ann, bob = api.auth("ann"), api.auth("bob")
    case_id = await lag_case(api)
    await api.http.post(f"/api/cases/{case_id}/claim", headers=ann)
    await api.http.post(f"/api/cases/{case_id}/resolve", headers=ann, json={
        "outcome": "resolved_by_call", "note": "wifi extender", "confirm": True})
    await api.desk.live.handle(Incident(
        incident_id="disconnect-again", kind="disconnect", state="open", started_at=T0 + 90_000,
        detected_at=T0 + 100_000, ended_at=None, line={"edge": "edge-1"}, evidence={},
        session_id="s1", student_id="stu-1", classroom_id="room-a"))
    await api.desk.live.handle(Outreach("disconnect-again", "case-again", "s1", "stu-1",
                                        "agent_queue", "disconnect", T0 + 100_000))
    presence = api.app.state.api.presence
    presence.connect("bob")  # bob's console: online, idle longest
    seen = (await api.http.get("/api/queue", headers=bob)).json()
    assert [a["name"] for a in seen["agents"] if a["online"]] == ["bob"]
    assert [w["offered_to"] for w in seen["waiting"]] == ["bob"]  # ann is not here
    presence.connect("ann")  # ann helped this family before: the case is hers now
    views: dict[str, Any] = {
        who: (await api.http.get("/api/queue", headers=api.auth(who))).json()
        for who in ("ann", "bob")}
    for view in views.values():
        [again] = view["waiting"]
        assert (again["offered_to"], again["last_helper"]) == ("ann", "ann")
        assert sorted(a["name"] for a in view["agents"] if a["online"]) == ["ann", "bob"]
    await api.http.post("/api/cases/case-again/claim", headers=ann)
    for who in ("ann", "bob"):
        view = (await api.http.get("/api/queue", headers=api.auth(who))).json()
        assert view["waiting"] == []
        assert [(h["case_id"], h["owner"]) for h in view["held"]] == [("case-again", "ann")]


async def test_filters_are_views_of_their_own(trusted: tuple[DeskClient, Clock]) -> None:
    api, _ = trusted
    await lag_case(api)
    ann = api.auth("ann")
    lag = (await api.http.get("/api/queue?kind=lag", headers=ann)).json()
    drops = await api.http.get("/api/queue?kind=disconnect", headers=ann)
    assert len(lag["waiting"]) == 1 and drops.json()["waiting"] == []
    assert drops.json()["total_waiting"] == 1 and drops.json()["filters"] == {
        "kind": "disconnect"}
    r = await api.http.get("/api/queue?kind=disconnect", headers={
        **ann, "If-None-Match": (await api.http.get("/api/queue?kind=lag", headers=ann)
                                 ).headers["etag"]})
    assert r.status_code == 200  # another filter's tag is not this one's


async def test_records_and_the_rings_counts_show_by_the_next_push(
        trusted: tuple[DeskClient, Clock]) -> None:
    api, clock = trusted
    await lag_case(api)
    ann = api.auth("ann")
    push_s = api.app.state.api.hub.interval_s
    before = (await api.http.get("/api/queue", headers=ann)).json()["school"]
    desk = api.desk.live.desk
    desk.ring.feed_raw([orjson.dumps({
        "v": 1, "type": "leave", "ts": T0 + 81_000, "session_id": "s3", "student_id": "stu-3",
        "classroom_id": "room-a"})])
    clock.now += push_s / 2  # an outage moves these many times a second: not rebuilt yet
    assert (await api.http.get("/api/queue", headers=ann)).json()["school"] == before
    clock.now += push_s / 2  # the push of the change goes out no sooner: rebuilt for it
    after = (await api.http.get("/api/queue", headers=ann)).json()["school"]
    assert after["in_class"] == before["in_class"] - 1
    await desk.apply(Incident(
        incident_id="lag-new", kind="lag", state="open", started_at=T0 + 80_000,
        detected_at=T0 + 81_000, ended_at=None, line={"edge": "edge-2"}, evidence={},
        session_id="s2", student_id="stu-2", classroom_id="room-b"))
    clock.now += push_s
    latest = (await api.http.get("/api/queue", headers=ann)).json()["school"]
    assert latest["problem_count"] == after["problem_count"] + 1


async def test_views_are_shared_while_built_rebuilt_after_a_failure_and_on_a_change() -> None:
    clock = Clock()
    views = EncodedViews(clock)
    gate = asyncio.Event()
    made: list[int] = []

    async def build() -> dict[str, Any]:
        made.append(1)
        await gate.wait()
        if len(made) == 2:
            raise RuntimeError("database away")
        return {"now": clock.now, "n": len(made)}

    asking = [asyncio.create_task(views.get("all", 1, 0.0, build)) for _ in range(50)]
    await asyncio.sleep(0)
    gate.set()
    assert len({r.body for r in await asyncio.gather(*asking)}) == 1 and len(made) == 1
    with pytest.raises(RuntimeError):
        await views.get("all", 2, 1.0, build)
    assert orjson.loads((await views.get("all", 2, 1.0, build)).body)["n"] == 3
    await views.get("all", 2, 1.0, build)
    assert len(made) == 3  # kept: same version, young
    await views.get("kind=lag", 2, 1.0, build)
    assert len(made) == 4  # each filter its own


def test_the_tag_ignores_the_time_of_building_but_not_the_content() -> None:
    a, b = encode({"now": 1, "waiting": []}), encode({"now": 2, "waiting": []})
    assert a.etag == b.etag and a.body != b.body
    assert encode({"now": 1, "waiting": [1]}).etag != a.etag
    assert etag_matches("*", a.etag) and etag_matches(f" x, {a.etag}", a.etag)
    assert not etag_matches(None, a.etag) and not etag_matches('W/"x"', a.etag)
