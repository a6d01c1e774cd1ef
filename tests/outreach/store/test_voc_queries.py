"""The digest's query: context, first contact, outcomes, a line's sessions and detection."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident, case_id_for
from outreach.store.cases import CaseStore
from outreach.store.line_problems import LineProblems
from outreach.store.queue import QueueStore
from outreach.store.voc import case_facts, digest_for
from tests.support.casedb import case_engine  # noqa: F401

T = 1_767_258_000_000
MIN = 60_000
SESSION_LINE = {"isp": "fjordnet", "region": "bergen", "edge": "sfu-bergen"}


def incident(iid: str, kind: str, start: int, state: str = "open", end: int | None = None,
             sessions: list[str] | None = None) -> Incident:
    line = {"edge": "sfu-bergen"} if kind == "line" else SESSION_LINE
    return Incident(incident_id=iid, kind=kind, state=state, started_at=start,  # type: ignore[arg-type]
                    detected_at=start + 12_000, ended_at=end, line=line, evidence={},
                    session_id=None if kind == "line" else "s-" + iid,
                    student_id=None if kind == "line" else "stu-" + iid,  # one open case each
                    classroom_id=None if kind == "line" else "room-a", sessions=sessions)


async def test_case_facts_carry_context_contact_outcome_and_a_lines_sessions(
        case_engine: AsyncEngine) -> None:  # noqa: F811
    store = CaseStore(case_engine, lambda: T + 30 * MIN)
    queue = QueueStore(case_engine, store, lambda: T + 30 * MIN)
    await store.record_incident(incident("line-l1", "line", T, sessions=["a", "b"]), {})
    await store.record_incident(
        incident("line-l1", "line", T, "closed", T + 2 * MIN, ["b", "c"]), {})
    for iid, start in (("disconnect-d1", T + 1000), ("lag-g2", T + 20 * MIN),
                       ("lag-old1", T - 3 * MIN)):
        inc = incident(iid, iid.split("-")[0], start)
        case = await store.record_incident(inc, {})
        await queue.save_context(case.case_id, {
            "session_id": inc.session_id, "classroom_id": "room-a", "teacher": "ms-berg",
            "device": "ipad", "os": "iPadOS 17.5", "app_version": "5.4.0",
            "line": "line:edge=sfu-bergen/isp=fjordnet/region=bergen", "cause": "lag: rtt",
            "lesson_end": T + 25 * MIN})
    isp = await store.record_incident(Incident(  # fails only because the edge is down
        incident_id="line-isp1", kind="line", state="open", started_at=T + 500,
        detected_at=T + 14_000, ended_at=None, line={"isp": "fjordnet", "region": "bergen"},
        evidence={"related_to": "edge:sfu-bergen"}, sessions=["a"]), {})
    await LineProblems(store).attach(case_id_for("line-l1"), isp.case_id, "related_line", T)
    lag = case_id_for("lag-g2")
    await store.add_event(lag, "attempt", {"channel": "chat"}, at=T + 20 * MIN + 9000)
    await store.add_event(lag, "attempt", {"channel": "call"}, at=T + 21 * MIN)
    assert not isinstance(await store.close(lag, "self_recovered", at=T + 22 * MIN), Exception)
    facts = {f.case_id: f for f in await case_facts(case_engine, T, T + 60 * MIN)}
    assert case_id_for("lag-old1") not in facts  # before the period
    line = facts[case_id_for("line-l1")]
    assert (line.kind, line.line, line.sessions) == ("line", "edge:sfu-bergen", ("a", "b", "c"))
    assert (line.detected_at, line.ended_at) == (T + 12_000, T + 2 * MIN)
    related = facts[isp.case_id]
    assert (related.line, related.related_to) == ("isp:fjordnet/bergen", "edge:sfu-bergen")
    drop = facts[case_id_for("disconnect-d1")]
    assert (drop.edge, drop.isp_region, drop.app_version, drop.teacher) == (
        "sfu-bergen", "fjordnet/bergen", "5.4.0", "ms-berg")
    assert drop.minutes_lost == 24.98  # still going: to the lesson end (rounded)
    closed = facts[lag]
    assert (closed.outcome, closed.first_contact_at) == ("self_recovered", T + 20 * MIN + 9000)
    digest = await digest_for(case_engine, T, T + 60 * MIN)
    assert digest.problems["infrastructure"][0].subject == "edge:sfu-bergen"
    assert digest.current.line_caused == 1
    assert digest.current.line_incidents == 1  # the related ISP line is under the edge's
    assert dict(digest.current.lines[0].related) == {"isp:fjordnet/bergen": 1}
    assert digest.previous.session_cases == 1  # lag-old, in the hour before
