"""The covered backlog: records wait in arrival order, hold their families back, and hold
their partitions' committed offsets back, so nothing waiting is lost in a crash."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import case_id_for
from monitor.platform.kafka_settings import KafkaSettings
from monitor.streaming.covered_backlog import CoveredBacklog, Polled, commit_offsets
from monitor.streaming.outreach_kafka import KafkaOutreach
from tests.support.casedb import case_engine  # noqa: F401
from tests.support.line_fakes import line_incident
from tests.support.live_support import T0, decision, harness, incident


def polled(partition: str, offset: int, student: str, n: int = 1) -> Polled[str]:
    """A drop of `student`'s family as polled from `partition` at `offset`."""
    return Polled(partition, offset, incident(n, student=student, start=T0 + 1_000))


def test_records_come_out_in_arrival_order_a_chunk_at_a_time() -> None:
    backlog: CoveredBacklog[str] = CoveredBacklog()
    backlog.add([polled("p0", 10, "a"), polled("p1", 3, "b"), polled("p0", 11, "c")])
    assert len(backlog) == 3
    assert [(p.partition, p.offset) for p in backlog.take(2)] == [("p0", 10), ("p1", 3)]
    assert [(p.partition, p.offset) for p in backlog.take(5)] == [("p0", 11)]
    assert len(backlog) == 0 and not backlog and backlog.take(5) == []


def test_a_family_with_a_record_waiting_is_held_until_its_last_is_taken() -> None:
    backlog: CoveredBacklog[str] = CoveredBacklog()
    first, again = polled("p0", 1, "a"), polled("p0", 2, "a", n=2)
    backlog.add([first, again, polled("p0", 3, "b")])
    later = incident(3, student="a", start=T0 + 60_000)  # a new problem of the same family
    assert backlog.holds(later) and backlog.holds(decision(later, "call"))
    assert not backlog.holds(incident(1, student="z"))
    backlog.take(1)
    assert backlog.holds(later)  # its second record still waits
    backlog.take(1)
    assert not backlog.holds(later) and backlog.holds(incident(9, student="b"))


def test_a_line_record_holds_its_own_incident_back_not_the_families() -> None:
    backlog: CoveredBacklog[str] = CoveredBacklog()
    backlog.add([Polled("p0", 1, line_incident("open", ["s1"], start=T0))])
    assert backlog.holds(line_incident("closed", ["s1"], start=T0, ended=T0 + 90_000))
    assert not backlog.holds(incident(1, student="stu-1"))


def test_committed_offsets_never_pass_a_record_still_waiting() -> None:
    backlog: CoveredBacklog[str] = CoveredBacklog()
    backlog.add([polled("p0", 7, "a"), polled("p0", 5, "b"), polled("p2", 40, "c")])
    assert backlog.oldest() == {"p0": 5, "p2": 40}
    polled_to = {"p0": 12, "p1": 9, "p2": 41, "p3": 4}
    assigned = {"p0", "p1", "p2"}  # p3 was given away in a rebalance
    assert commit_offsets(polled_to, backlog.oldest(), assigned) == {"p0": 5, "p1": 9, "p2": 40}
    backlog.take(3)
    assert commit_offsets(polled_to, backlog.oldest(), assigned) == {"p0": 12, "p1": 9, "p2": 41}


def test_after_a_rebalance_only_the_partitions_still_owned_keep_their_records() -> None:
    backlog: CoveredBacklog[str] = CoveredBacklog()
    backlog.add([polled("p0", 1, "a"), polled("p1", 1, "b"), polled("p0", 2, "c")])
    assert backlog.keep_only({"p0"}) == 1
    assert [(p.partition, p.record.student_id) for p in backlog.take(5)] == [
        ("p0", "a"), ("p0", "c")]
    backlog.add([polled("p1", 1, "b")])
    assert backlog.keep_only({"p0", "p1"}) == 0 and len(backlog) == 1
    assert backlog.holds(incident(5, student="b")) and not backlog.holds(incident(5, student="a"))


async def test_each_step_takes_in_at_least_one_chunk_and_more_only_within_its_budget(
    case_engine: AsyncEngine, tmp_path: Path,  # noqa: F811
) -> None:
    h = await harness(case_engine, tmp_path)
    drops = [incident(i, student=f"stu-c{i}", start=T0 + 1_000) for i in range(10)]
    line = line_incident("open", [d.session_id or "" for d in drops], start=T0)
    strict = KafkaOutreach(KafkaSettings(clock="event"), h.runner, backlog_chunk=3,
                           backlog_budget_s=0.0)  # fmt: skip
    strict.backlog.add(Polled("p0", k, r) for k, r in enumerate([line, *drops]))
    try:
        assert await strict.work_backlog() == 3 and len(strict.backlog) == 8  # one chunk
        roomy = KafkaOutreach(KafkaSettings(clock="event"), h.runner, backlog_chunk=3,
                              backlog_budget_s=60.0)  # fmt: skip
        roomy.backlog = strict.backlog
        assert await roomy.work_backlog() == 8 and not roomy.backlog  # the rest, in chunks
        for d in drops:  # every family's drop taken in, on its case
            case = await h.cases.get(case_id_for(d.incident_id))
            assert case is not None and case.student_id == d.student_id
    finally:
        await h.runner.aclose()
