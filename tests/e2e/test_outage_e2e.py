"""#20 at CI size: an edge outage with ordinary family problems behind it, through two
workers, the correlator and `firstcall outreach` (real processes) on the Kafka test broker
and PostgreSQL, calling the Twilio stand-in. No family behind the outage is forgotten."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bench.kafka_broker import TansuBroker
from bench.outage_bench import run_outage
from bench.outage_figures import report
from bench.outage_procs import fresh_database
from bench.outage_school import OutageScenario
from tests.support.casedb import PG_DSN, postgres_schema

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(300)]

# Ordinary problems long enough to be still on when their decision arrives at 6x pace
# (at that pace a second of pipeline delay is six seconds of the school's time).
SCHOOL = OutageScenario(sessions=200, outage_at_s=40, outage_s=90, end_s=200, ordinary=8,
                        lag_s=80, drop_s=80)


@pytest.fixture
async def outage_db() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for the run's processes (fails in CI without PostgreSQL)."""
    await postgres_schema()  # skips (or fails in CI) with a visible reason when it is absent
    dsn, drop = await fresh_database(PG_DSN.replace("postgresql://", "postgresql+asyncpg://"))
    yield dsn
    await drop()


async def test_an_edge_outage_phones_no_family_and_forgets_none_behind_it(
    kafka_broker: TansuBroker, outage_db: str
) -> None:
    kafka_broker.start()
    # Memory "after" 60 s of the school's time after the outage (the bench waits 300 s).
    f = await run_outage(kafka_broker.bootstrap, outage_db, SCHOOL, speed=6.0, settle_s=120,
                         after_s=60)
    print(report(f))  # the figures, in the test's output
    assert f["crashed"] == [], f["logs"]
    assert f["settled"], "every session incident reached a case"
    assert len(f["line_incidents"]) == 1, "the outage is one line incident"
    assert f["outage_sessions"] == 40 and f["outage_cases"] == 40
    assert f["ordinary_incidents"] == f["ordinary_expected"] == 8
    assert f["decisions_missing"] == [], "no decision dropped"
    assert f["incidents_without_case"] == []
    assert f["outage_families_phoned"] == 0, "no call or SMS to a family behind the outage"
    assert f["outage_outcomes"] == ["infra_incident"]
    assert f["outage_cases_not_closed_in_60s"] == 0, "closed with the line, not 15 min later"
    # Each ordinary family's problem is decided as without the outage: contacted (whether the
    # contact still goes out depends on the problem lasting until the service acts on it).
    assert set(f["ordinary_contact_actions"]) <= {"chat", "call", "sms", "agent_queue"}
    assert f["ordinary_decisions"] == 8
    assert f["decision_delay_s_p95"] <= 30, "decided as fast as without the outage"
    # On one clock (the school's, to about one 2 s stats step): problem start -> decision ->
    # first contact.
    assert f["ordinary_contacted"] > 0
    assert f["problem_to_contact_s_p50"] >= f["decision_delay_s_p50"] - 2
    # Every process, the desk included, had its memory taken before, during and after.
    assert set(f["rss_mb"]) == {"correlator", "worker0", "worker1", "outreach", "desk"}
    assert all(v["after"] is not None for v in f["rss_mb"].values())
