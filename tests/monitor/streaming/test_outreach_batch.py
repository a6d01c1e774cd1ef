"""A poll's records in one transaction: the same cases, timelines and outcomes as one by one."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident, Outreach, case_id_for
from monitor.platform.kafka_settings import KafkaSettings
from monitor.streaming.outreach_kafka import KafkaOutreach
from outreach.channels.base import SendResult
from outreach.decide.case_states import Refusal
from outreach.store.cases import CaseStore
from outreach.store.models import case_events, cases
from tests.support.casedb import Begins, case_engine, sqlite_engine  # noqa: F401
from tests.support.line_fakes import line_incident
from tests.support.live_support import (
    T0,
    Harness,
    decision,
    harness,
    incident,
    make_runner,
    until,
)

FAMILIES = 12


def records() -> list[Incident | Outreach]:
    """Each family: a problem, the policy's decision (no contact), its end; then time moves on."""
    out: list[Incident | Outreach] = []
    for n in range(FAMILIES):
        student, start = f"stu-b{n}", T0 + n * 1_000
        opened = incident(n, student=student, start=start)
        out += [opened, decision(opened, "none", "self_recovering"),
                incident(n, "closed", student=student, start=start)]  # fmt: skip
    out.append(incident(99, student="stu-late", start=T0 + 3_600_000))  # fine for long since
    return out


class FailingCases(CaseStore):
    """A case store whose timeline write fails once, for one incident's decision."""

    def __init__(self, engine: AsyncEngine, incident_id: str) -> None:
        super().__init__(engine)
        self.incident_id, self.failed = incident_id, False

    async def add_event(
        self, case_id: str, kind: str, data: Mapping[str, Any] | None = None, *,
        actor: str = "system", at: int | None = None,
    ) -> Refusal | None:
        """Fail the first time the decision about `incident_id` is written."""
        if not self.failed and kind == "decision" and (data or {}).get("incident_id") == (
            self.incident_id
        ):
            self.failed = True
            raise RuntimeError("the database went away")
        return await super().add_event(case_id, kind, data, actor=actor, at=at)


async def state(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    """Every case with its state, outcome and the kinds of its timeline, in order."""
    async with engine.connect() as conn:
        found = (await conn.execute(sa.select(cases).order_by(cases.c.case_id))).all()
        timeline = (
            await conn.execute(sa.select(case_events).order_by(case_events.c.event_id))
        ).all()
    kinds: dict[str, list[str]] = {}
    for e in timeline:
        kinds.setdefault(e.case_id, []).append(e.kind)
    return [(c.case_id, c.state, c.outcome, c.attempts, kinds[c.case_id]) for c in found]


def outcomes(h: Harness) -> list[tuple[str, str]]:
    return sorted((r.case_id, r.outcome) for r in h.sink.records)


async def failing_once(engine: AsyncEngine, tmp_path: Path, n: int) -> tuple[
        Harness, KafkaOutreach]:
    """A batched feed whose poll fails once, writing the decision about family `stu-b<n>`'s
    problem, and its runner (on that failing case store)."""
    h = await harness(engine, tmp_path)
    failing = FailingCases(engine, incident(n, student=f"stu-b{n}").incident_id)
    flaky = make_runner(engine, failing, h.directory)
    return flaky, KafkaOutreach(KafkaSettings(clock="event"), flaky.runner)


def rolled_back_once(flaky: Harness) -> bool:
    """The poll's transaction failed and was rolled back, once."""
    assert isinstance(flaky.cases, FailingCases)
    return flaky.cases.failed and flaky.counted(
        "firstcall_outreach_batches_total", result="rolled_back") == 1


async def test_a_poll_is_one_transaction_and_a_redelivery_adds_nothing(
    case_engine: AsyncEngine,  # noqa: F811
    tmp_path: Path,
) -> None:
    h = await harness(case_engine, tmp_path)
    feed = KafkaOutreach(KafkaSettings(clock="event"), h.runner)
    counted = Begins(case_engine)
    await feed.apply_all(records())
    # The poll's records, then what waited for their commit (12 outcomes published, and
    # noted on their timelines): two transactions.
    assert (counted.begun, counted.committed) == (2, 2)
    closed = outcomes(h)
    assert len(closed) == FAMILIES and {o for _, o in closed} == {"self_recovered"}
    before = await state(case_engine)
    assert len(before) == FAMILIES + 1
    noted = [kinds.count("outcome_published") for _, st, _, _, kinds in before if st == "closed"]
    assert noted == [1] * FAMILIES  # written after the publishes, in one multi-row insert
    await feed.apply_all(records())  # the poll again (a restart before the offsets' commit)
    assert await state(case_engine) == before and outcomes(h) == closed
    assert h.counted("firstcall_outreach_batches_total", result="committed") == 2


async def test_one_by_one_it_takes_a_transaction_per_call(
    case_engine: AsyncEngine,  # noqa: F811
    tmp_path: Path,
) -> None:
    h = await harness(case_engine, tmp_path)
    feed = KafkaOutreach(KafkaSettings(clock="event"), h.runner, batched=False)
    counted = Begins(case_engine)
    await feed.apply_all(records())
    assert counted.begun > 10 * FAMILIES and len(outcomes(h)) == FAMILIES


async def test_a_failed_batch_is_applied_again_one_by_one_with_the_same_result(
    case_engine: AsyncEngine,  # noqa: F811
    tmp_path: Path,
) -> None:
    flaky, feed = await failing_once(case_engine, tmp_path, 5)
    await feed.apply_all(records())
    assert rolled_back_once(flaky)
    # The same records one by one on a database of their own.
    (tmp_path / "plain").mkdir()
    other = await sqlite_engine(tmp_path / "plain")
    try:
        plain = await harness(other, tmp_path)
        await KafkaOutreach(KafkaSettings(clock="event"), plain.runner, batched=False).apply_all(
            records()
        )
        assert await state(case_engine) == await state(other)
        assert outcomes(flaky) == outcomes(plain) and len(outcomes(plain)) == FAMILIES
    finally:
        await other.dispose()


async def test_a_chain_starts_once_the_batch_has_committed(
    case_engine: AsyncEngine,  # noqa: F811
    tmp_path: Path,
) -> None:
    h = await harness(case_engine, tmp_path)
    feed = KafkaOutreach(KafkaSettings(clock="event"), h.runner)
    inc = incident(1)  # stu-1, whose family takes calls
    h.fakes["call"].script(SendResult("queued", provider_id="p"))
    try:
        await feed.apply_all([inc, decision(inc, "call")])
        # The chain runs in a task of its own, on its own connection: it finds the case (and
        # calls) only because the batch committed before it started.
        await until(lambda: len(h.fakes["call"].sent) == 1)
        kinds = [e.kind for e in await h.cases.timeline(case_id_for(inc.incident_id))]
        assert kinds[:2] == ["opened", "decision"] and "sending" in kinds
    finally:
        await h.runner.aclose()


async def test_a_line_incident_pages_once_after_the_commit_even_when_the_batch_failed(
    case_engine: AsyncEngine,  # noqa: F811
    tmp_path: Path,
) -> None:
    flaky, feed = await failing_once(case_engine, tmp_path, 1)
    line = line_incident("open", ["sess-x", "sess-y"], start=T0)
    family = incident(1, student="stu-b1", start=T0 + 1_000)
    await feed.apply_all([line, family, decision(family, "none")])  # fails, then one by one
    assert rolled_back_once(flaky)
    assert [key for key, _ in flaky.pager.pages] == ["line-edge-1"]  # paged, once
    await feed.apply_all([line, family, decision(family, "none")])  # redelivered
    assert [key for key, _ in flaky.pager.pages] == ["line-edge-1"]
    line_case = await flaky.cases.by_incident(line.incident_id)
    assert line_case is not None
    paged = [e for e in await flaky.cases.timeline(line_case.case_id) if e.kind == "paged"]
    assert len(paged) == 1


async def test_a_waiting_decision_taken_in_a_failed_batch_is_not_lost(
    case_engine: AsyncEngine,  # noqa: F811
    tmp_path: Path,
) -> None:
    flaky, feed = await failing_once(case_engine, tmp_path, 2)
    early = incident(1, student="stu-b1")
    await feed.apply_all([decision(early, "none")])  # before its incident: it waits
    assert flaky.runner.orphans == 1
    later = incident(2, student="stu-b2")
    await feed.apply_all([early, later, decision(later, "none")])  # fails, then one by one
    assert rolled_back_once(flaky) and flaky.runner.orphans == 0
    timeline = await flaky.cases.timeline(case_id_for(early.incident_id))
    assert [e.kind for e in timeline] == ["opened", "decision"]
