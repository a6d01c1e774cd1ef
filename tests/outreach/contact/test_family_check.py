"""The reach of a chain's next step: a covered family's needs no directory or call counts."""

from __future__ import annotations

from pathlib import Path

from detectors.records import Outreach, case_id_for
from outreach.contact.family import FamilyCheck
from outreach.decide.family import Student
from outreach.decide.stages.retry_fallback import Reach, next_step
from outreach.store.cases import CaseStore
from outreach.store.directory import DirectoryStore
from tests.support.casedb import sqlite_engine
from tests.support.live_support import harness, incident


class CountingDirectory(DirectoryStore):
    """The directory, counting the families looked up."""

    looked_up = 0

    async def get(self, student_id: str) -> Student | None:
        """Count, then look up."""
        self.looked_up += 1
        return await super().get(student_id)

    async def with_opt_outs(self, student_id: str) -> tuple[Student | None, set[str]]:
        """Count, then look up (with the STOPs)."""
        self.looked_up += 1
        return await super().with_opt_outs(student_id)


def outreach_of(case_id: str, student_id: str) -> Outreach:
    """A chat decision for the case."""
    return Outreach(
        incident_id="i-1", session_id="sess-1", student_id=student_id, case_id=case_id,
        action="chat", reason="covered_by_line_incident", decided_at=1_000,
    )  # fmt: skip


async def test_a_covered_familys_reach_is_the_notice_only_without_reading_the_family(
    tmp_path: Path,
) -> None:
    engine = await sqlite_engine(tmp_path)
    try:
        h = await harness(engine, tmp_path)
        first = incident(1)
        await h.runner.handle(first)
        case = await h.cases.get(case_id_for(first.incident_id))
        assert case is not None
        directory = CountingDirectory(engine)
        check = FamilyCheck(CaseStore(engine), directory, h.runner.wall)
        o = outreach_of(case.case_id, case.student_id)
        covered = await check.reach(case, o, event_now=2_000, closed=False, covered=True)
        assert covered == Reach(notice_only=True)
        assert directory.looked_up == 0
        assert next_step("chat", "delivered", covered).reason == "notice_only"
        own = await check.reach(case, o, event_now=2_000, closed=False, covered=False)
        assert directory.looked_up == 1 and not own.notice_only and own.has_phone
        assert await check.reach(case, o, event_now=2_000, closed=True, covered=True) == Reach(
            notice_only=True, incident_closed=True
        )
    finally:
        await engine.dispose()
