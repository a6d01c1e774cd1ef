"""Report figures over time, time to first contact and the queue's service level,
on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident
from outreach.decide.percentiles import percentile
from outreach.store.cases import CaseStore
from outreach.store.line_problems import LineProblems
from outreach.store.queue import QueueStore
from outreach.store.report_figures import bucket_ms, contact_figures, report_series
from outreach.store.reports import build_report
from tests.support.casedb import Statements, case_engine  # noqa: F401

T0 = 1_779_998_400_000  # a whole hour, so a boundary of 5-minute and hourly periods
MIN = 60_000
NOW = T0 + 60 * MIN
SLA = 2 * MIN


def incident(iid: str, kind: str, start: int, room: str, line: str) -> Incident:
    return Incident(
        incident_id=iid, kind=kind, state="open", started_at=start,  # type: ignore[arg-type]
        detected_at=start, ended_at=start + 3 * MIN, line={}, evidence={},
        session_id=None if kind == "line" else "s-" + iid,
        student_id=None if kind == "line" else "stu-" + iid,
        classroom_id=None if kind == "line" else room,
        sessions=["a"] if kind == "line" else None)


async def _day(engine: AsyncEngine) -> tuple[CaseStore, QueueStore]:
    store = CaseStore(engine, lambda: NOW)
    queue = QueueStore(engine, store, lambda: NOW)
    plan = [  # id, kind, start minute, room, line, first contact after (s), queued, answered
        ("lag-1", "lag", 1, "room-a", "isp:x/oslo", 10, None, None),
        ("lag-2", "lag", 2, "room-a", "isp:x/oslo", 20, 3, 4),  # answered in 1 min
        ("disc-3", "disconnect", 12, "room-b", "edge:sfu-1", 40, 13, 20),  # 7 min: breached
        ("lag-4", "lag", 58, "room-b", "edge:sfu-1", None, 59, None),  # waiting, within SLA
        ("line-5", "line", 12, "", "edge:sfu-1", None, None, None),
    ]
    for iid, kind, minute, room, line, contact_s, queued, answered in plan:
        case = await store.record_incident(incident(iid, kind, T0 + minute * MIN, room, line), {})
        await queue.save_context(case.case_id, {"cause": kind, "line": line,
                                                "lesson_end": T0 + 120 * MIN})
        if contact_s is not None:
            start = T0 + minute * MIN
            await store.record_attempt(case.case_id, "chat", at=start + contact_s * 1000)
            await store.record_attempt(case.case_id, "call", at=start + 90_000)
        if queued is not None:
            await queue.enqueue(case, "sms_unanswered", at=T0 + queued * MIN)
            if answered is not None:
                assert await queue.claim(case.case_id, "ann", at=T0 + answered * MIN) is None
    return store, queue


async def test_time_to_first_contact_and_the_service_level(
        case_engine: AsyncEngine) -> None:  # noqa: F811
    await _day(case_engine)
    figures = await contact_figures(case_engine, T0, NOW, SLA)
    assert figures.contacted == 3  # the line incident is not a family's contact
    assert (figures.first_contact_p50_ms, figures.first_contact_p95_ms) == (20_000, 40_000)
    assert (figures.queued, figures.answered_in_sla, figures.breached, figures.waiting) == (
        3, 1, 1, 1)
    later = await contact_figures(case_engine, T0 + 10 * MIN, NOW, SLA)
    assert later.contacted == 1 and later.queued == 2


async def test_minutes_lost_and_incidents_over_time_for_the_top_groups(
        case_engine: AsyncEngine) -> None:  # noqa: F811
    await _day(case_engine)
    doc = await report_series(case_engine, "classroom", T0, NOW)
    assert doc["bucket_ms"] == 5 * MIN
    assert doc["t"][0] == T0 and len(doc["t"]) == 12
    by_key = {s["key"]: s for s in doc["series"]}
    assert set(by_key) == {"room-a", "room-b"}
    assert by_key["room-a"]["incidents"][0] == 2 and sum(by_key["room-a"]["incidents"]) == 2
    assert by_key["room-b"]["incidents"][2] == 1 and by_key["room-b"]["incidents"][11] == 1
    assert by_key["room-a"]["lesson_minutes_lost"][0] == 6.0  # two problems of 3 minutes


async def test_by_line_the_infrastructure_and_the_families_are_apart(
        case_engine: AsyncEngine) -> None:  # noqa: F811
    await _day(case_engine)
    families = await build_report(case_engine, "line", T0, NOW, line_cases=False)
    infra = await build_report(case_engine, "line", T0, NOW, line_cases=True)
    assert {r.key: r.incidents for r in families} == {"isp:x/oslo": 2, "edge:sfu-1": 2}
    assert {r.key: r.incidents for r in infra} == {"edge:sfu-1": 1}
    both = await build_report(case_engine, "line", T0, NOW)
    assert {r.key: r.incidents for r in both} == {"isp:x/oslo": 2, "edge:sfu-1": 3}


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7], 0.95) == 7
    assert percentile([4, 1, 3, 2], 0.5) == 2
    assert percentile(list(range(1, 101)), 0.95) == 95


def test_chart_periods_keep_the_chart_under_two_hundred_points() -> None:
    assert bucket_ms(60 * MIN) == 5 * MIN
    assert bucket_ms(24 * 60 * MIN) == 15 * MIN
    assert bucket_ms(7 * 24 * 60 * MIN) == 60 * MIN
    century = 100 * 365 * 24 * 60 * MIN
    assert century / bucket_ms(century) <= 200


async def test_a_related_line_is_listed_under_its_edges_line_incident(
        case_engine: AsyncEngine) -> None:  # noqa: F811
    store, queue = await _day(case_engine)
    problems = LineProblems(store)
    edge = await store.by_incident("line-5")
    assert edge is not None
    for n, isp in enumerate(("fjordnet", "kystlink", "nordfiber")):
        case = await store.record_incident(
            incident(f"line-isp-{n}", "line", T0 + 12 * MIN + 1_000, "", ""), {})
        await queue.save_context(case.case_id, {"cause": "line", "line": f"isp:{isp}/oslo"})
        await problems.attach(edge.case_id, case.case_id, "related_line", T0 + 13 * MIN)
    sent = Statements(case_engine)
    infra = await build_report(case_engine, "line", T0, NOW, line_cases=True)
    assert sent.count == 1  # the related lines come with the rows: no query of their own
    assert [(r.key, r.incidents, dict(r.related_lines)) for r in infra] == [
        ("edge:sfu-1", 1, {"isp:fjordnet/oslo": 1, "isp:kystlink/oslo": 1,
                           "isp:nordfiber/oslo": 1})]
    series = await report_series(case_engine, "line", T0, NOW, line_cases=True)
    assert [(s["key"], sum(s["incidents"])) for s in series["series"]] == [("edge:sfu-1", 1)]
