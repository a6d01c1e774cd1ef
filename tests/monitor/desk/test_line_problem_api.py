"""The desk API for an edge outage: one queue item (the line incident), zero family items,
the problem with its families, the owner's note, and the bulk close with the all-clear."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from detectors.records import case_id_for
from monitor.desk.app import create_app
from tests.support.outage_scenario import SORRY, UP_FROM_S, OutageDesk, outage_desk


@dataclass
class Client:
    http: httpx.AsyncClient
    desk: OutageDesk
    tokens: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def get(self, path: str, who: str = "ann") -> dict:  # type: ignore[type-arg]
        r = await self.http.get(path, headers=self.auth(who))
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def post(self, path: str, body: dict, who: str = "ann") -> httpx.Response:  # type: ignore[type-arg]
        return await self.http.post(path, json=body, headers=self.auth(who))


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Client]:
    async with outage_desk(tmp_path) as desk:
        app = create_app(desk.live.desk, desk.users)
        tokens = {name: await desk.users.add(name, role)
                  for name, role in (("ann", "agent"), ("bob", "agent"), ("olga", "ops"))}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                     base_url="http://desk") as http:
            yield Client(http, desk, tokens)


async def test_an_outage_is_one_problem_that_its_owner_closes_in_bulk(api: Client) -> None:
    await api.desk.run_to(100)
    queue = await api.get("/api/queue")
    [item] = queue["waiting"]
    assert (item["kind"], item["reason"]) == ("line", "line_incident")
    assert item["problem"] == {"line": "edge:sfu-oslo", "sessions": 9, "families": 9,
                               "open_families": 9}
    [banner] = queue["outages"]
    assert (banner["case_id"], banner["line"], banner["sessions"]) == (
        item["case_id"], "edge:sfu-oslo", 9)
    line_case = item["case_id"]

    problem = await api.get(f"/api/problems/{line_case}", who="olga")
    assert (problem["status"], problem["owner"], problem["sessions"]) == ("new", None, 9)
    assert problem["classrooms"] == ["room-a", "room-b", "room-c"]
    assert sorted(c["student_id"] for c in problem["children"]) == [f"stu-{n}" for n in range(9)]
    assert {c["reason"] for c in problem["children"]} == {"covered"}

    # Only the owner acts on the problem; acknowledging is claiming it.
    r = await api.post(f"/api/problems/{line_case}/close-children", {})
    assert (r.status_code, r.json()["error"]) == (409, "not_owner")
    assert (await api.post(f"/api/cases/{line_case}/claim", {})).status_code == 200
    r = await api.post(f"/api/problems/{line_case}/note", {"text": "x" * 501})
    assert (r.status_code, r.json()["error"]) == (422, "bad_note")
    assert (await api.post(f"/api/problems/{line_case}/note", {"text": "Oslo server down"},
                           who="bob")).status_code == 409
    r = await api.post(f"/api/problems/{line_case}/note", {"text": "Oslo server down"})
    assert r.status_code == 200
    problem = await api.get(f"/api/problems/{line_case}")
    assert (problem["status"], problem["owner"], problem["note"]) == (
        "acknowledged", "ann", "Oslo server down")

    r = await api.post(f"/api/problems/{line_case}/close-children", {})
    assert r.status_code == 200 and len(r.json()["closed"]) == 9
    assert r.json()["all_clear"] == "when the line incident is over"
    problem = await api.get(f"/api/problems/{line_case}")
    assert {(c["state"], c["outcome"]) for c in problem["children"]} == {
        ("closed", "infra_incident")}
    assert sum(o.outcome == "infra_incident" for o in api.desk.outcomes.records) == 9
    assert api.desk.chat.sent == [] or all(m.text != SORRY for m in api.desk.chat.sent)
    assert (await api.get("/api/queue"))["held"][0]["case_id"] == line_case

    # The edge comes back; the line incident ends; each family hears it once.
    await api.desk.run_to(UP_FROM_S + 100)
    told = [m for m in api.desk.chat.sent if m.text == SORRY]
    assert sorted(m.student_id for m in told) == [f"stu-{n}" for n in range(9)]
    texts = [m.student_id for m in api.desk.sms.sent if m.text == SORRY]
    assert sorted(texts) == [f"stu-{n}" for n in range(9)]  # the apps are not open here
    assert (await api.get("/api/queue"))["outages"] == []
    assert (await api.get(f"/api/problems/{line_case}"))["status"] == "over"


async def test_a_family_case_is_not_a_problem(api: Client) -> None:
    await api.desk.run_to(100)
    line_case = (await api.get("/api/queue"))["waiting"][0]["case_id"]
    problem = await api.get(f"/api/problems/{line_case}")
    child = problem["children"][0]["case_id"]
    r = await api.http.get(f"/api/problems/{child}", headers=api.auth("ann"))
    assert (r.status_code, r.json()["error"]) == (409, "not_a_line_incident")


async def test_the_isp_lines_of_a_down_edge_are_related_lines_not_problems(
        tmp_path: Path) -> None:
    # Five students of each ISP on the edge: each ISP+region line qualifies as well.
    async with outage_desk(tmp_path, per_isp=5) as desk:
        app = create_app(desk.live.desk, desk.users)
        api = Client(httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                       base_url="http://desk"),
                     desk, {"ann": await desk.users.add("ann", "agent"),
                            "olga": await desk.users.add("olga", "ops")})
        async with api.http:
            await desk.run_to(100)
            assert len(desk.live.desk.state.lines) == 4  # the edge and three ISP lines
            queue = await api.get("/api/queue")
            [item] = queue["waiting"]
            assert item["problem"]["line"] == "edge:sfu-oslo"
            assert item["problem"]["families"] == 15
            assert [o["line"] for o in queue["outages"]] == ["edge:sfu-oslo"]
            dash = await api.get("/api/dashboard", "olga")  # one outage is one line incident
            assert dash["tiles"]["line_incidents"] == 1
            [row] = dash["line_incidents"]
            assert (row["line"], row["sessions"]) == ("edge:sfu-oslo", 15)
            assert [r["line"] for r in row["related_lines"]] == [
                "isp:fjordnet/oslo", "isp:kystlink/oslo", "isp:nordfiber/oslo"]
            assert dash["tiles"]["sessions_in_trouble"] == 15
            assert dash["trends"]["incidents"][-1] == dash["tiles"]["live_incidents"] + 1
            paged = [e.data for iid in desk.live.desk.state.lines
                     for e in await desk.live.runtime.cases.timeline(case_id_for(iid))
                     if e.kind == "paged"]  # one page for the outage, notes for the rest
            assert sorted("note_to" in d for d in paged) == [False, True, True, True]
            metrics = desk.live.runtime.metrics.registry
            assert metrics.get_sample_value("firstcall_line_incidents_total",
                                            {"role": "outage"}) == 1
            assert metrics.get_sample_value("firstcall_line_incidents_total",
                                            {"role": "related"}) == 3
            problem = await api.get(f"/api/problems/{item['case_id']}")
            assert sorted(r["line"] for r in problem["related_lines"]) == [
                "isp:fjordnet/oslo", "isp:kystlink/oslo", "isp:nordfiber/oslo"]
            assert (await api.post(f"/api/cases/{item['case_id']}/claim", {})).status_code == 200
            r = await api.post(f"/api/problems/{item['case_id']}/close-children", {})
            assert len(r.json()["closed"]) == 15 + 3  # the families and the related lines
