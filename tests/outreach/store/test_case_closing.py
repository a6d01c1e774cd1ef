"""Closing many cases at once: as closing each one would, in a few statements; a case held by
another agent, closed already, or changed since it was read is left as it is."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.decide.case import Case
from outreach.store.case_closing import Closing, close_many, incidents_of, timelines
from outreach.store.cases import CaseStore
from tests.support.casedb import Statements, case_engine  # noqa: F401
from tests.support.live_support import T0, incident

NOW = T0 + 600_000


async def opened(store: CaseStore, n: int, prefix: str = "stu") -> list[Case]:
    """`n` cases, case i's problem `i` minutes long (over)."""
    out = []
    for i in range(n):
        inc = incident(1, "closed", student=f"{prefix}-{i}", start=T0, ended=T0 + i * 60_000)
        out.append((await store.open_case(inc, {})).case)
    return out


async def test_many_cases_close_as_one_would_in_a_few_statements(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    store = CaseStore(case_engine, lambda: NOW)
    cases = await opened(store, 120)
    counted = Statements(case_engine)
    done = await close_many(store, [Closing(c, "infra_incident", None) for c in cases],
                            reason="line_over")
    counted.close()
    assert counted.count == 2  # one UPDATE ... RETURNING, one multi-row INSERT
    assert [c.case_id for c in done] == [c.case_id for c in cases]
    for i in (0, 1, 119):
        case = await store.get(cases[i].case_id)
        assert case is not None and (case.state, case.outcome, case.closed_at) == (
            "closed", "infra_incident", NOW)
        assert case.lesson_minutes_lost == float(i)  # its span, as `transition` counts it
        [event] = [e for e in await store.timeline(case.case_id) if e.kind == "state"]
        assert (event.actor, event.data) == ("system", {
            "from": "open", "to": "closed", "reason": "line_over", "outcome": "infra_incident"})


async def test_closing_many_cases_of_different_minutes_keeps_no_statement_per_count_cached(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    # Each case's minutes differ: the UPDATE carries a CASE with two parameters per case,
    # which SQLAlchemy would compile and keep once per count of cases (~1 MB for 500).
    store = CaseStore(case_engine, lambda: NOW)
    cache = case_engine.sync_engine._compiled_cache
    assert cache is not None
    await close_many(store, [Closing(c, "infra_incident", None)
                             for c in await opened(store, 3, "first")], reason="line_over")
    before = len(cache)
    for n in (40, 41, 75):
        cases = await opened(store, n, f"of-{n}")
        done = await close_many(store, [Closing(c, "infra_incident", None) for c in cases],
                                reason="line_over")
        assert len(done) == n
    assert len(cache) == before  # nothing cached per count


async def test_held_closed_or_changed_cases_are_left_as_they_are(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    store = CaseStore(case_engine, lambda: NOW)
    free, held, mine, closed, changed = await opened(store, 5)
    await store.claim(held.case_id, "bob")
    await store.claim(mine.case_id, "ann")
    await store.close(closed.case_id, "self_recovered")
    await store.transition(changed.case_id, "contacting")  # after `changed` was read
    read = {c.case_id: c for c in [free, closed, changed]}
    for case_id in (held.case_id, mine.case_id):
        now = await store.get(case_id)
        assert now is not None
        read[case_id] = now
    done = await close_many(store, [Closing(c, "infra_incident", 1.5) for c in read.values()],
                            reason="closed_with_line_incident", actor="ann", holder="ann")
    assert sorted(c.case_id for c in done) == sorted([free.case_id, mine.case_id])
    states = [await store.get(c) for c in read]
    assert {s.case_id: (s.state, s.owner, s.lesson_minutes_lost) for s in states if s} == {
        free.case_id: ("closed", None, 1.5), mine.case_id: ("closed", None, 1.5),
        held.case_id: ("open", "bob", None), closed.case_id: ("closed", None, 3.0),
        changed.case_id: ("contacting", None, None)}


async def test_timelines_and_incidents_of_many_cases_in_one_read_each(
    case_engine: AsyncEngine,  # noqa: F811
) -> None:
    store = CaseStore(case_engine, lambda: NOW)
    cases = await opened(store, 3)
    ids = [c.case_id for c in cases] + ["no-such-case"]
    counted = Statements(case_engine)
    events, spans = await timelines(store, ids), await incidents_of(store, ids)
    counted.close()
    assert counted.count == 2
    assert events["no-such-case"] == [] and spans["no-such-case"] == []
    for case in cases:
        assert events[case.case_id] == await store.timeline(case.case_id)
        assert [(s.started_at, s.ended_at) for s in spans[case.case_id]] == [
            (case.incident_started_at, case.incident_ended_at)]
