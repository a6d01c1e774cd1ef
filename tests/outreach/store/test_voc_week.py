"""A simulated week with a bad release and a bad edge: the digest names both first."""

from __future__ import annotations

from pathlib import Path

from outreach.decide.voc import period_figures
from outreach.decide.voc_rules import build_digest
from outreach.store.db import make_engine, upgrade
from outreach.store.voc import case_facts
from tests.support.voc_week import BAD_EDGE, BAD_RELEASE, DAY_MS, WEEK_START, replay_weeks

WEEK = 7 * DAY_MS


async def test_the_digest_of_a_simulated_week_names_the_bad_release_and_the_bad_edge(
        tmp_path: Path) -> None:
    engine = make_engine(str(tmp_path / "week.db"))
    await upgrade(engine)
    await replay_weeks(engine, days=7, classrooms=5)
    current = period_figures(await case_facts(engine, WEEK_START, WEEK_START + WEEK),
                             WEEK_START, WEEK_START + WEEK)
    previous = period_figures(await case_facts(engine, WEEK_START - WEEK, WEEK_START),
                              WEEK_START - WEEK, WEEK_START)
    await engine.dispose()
    digest = build_digest(current, previous)
    infra, product = digest.problems["infrastructure"], digest.problems["product"]
    assert infra[0].subject == f"edge:{BAD_EDGE}", infra
    assert "move lessons off it" in infra[0].action
    assert infra[0].previous == "none"  # the quiet week had no outage there
    assert digest.worse_release is not None and digest.worse_release.new.key == BAD_RELEASE
    assert product[0].subject.startswith(f"app {BAD_RELEASE} (new release) worse than 5.3.2")
    assert "halt the rollout" in product[0].action
    # The outages' dropped sessions count on the line, not against a release.
    assert current.line_caused > 0
    assert previous.session_cases > 0  # a smaller, quiet week: no line incidents
    assert all(len(problems) <= 3 for problems in digest.problems.values())
