"""Call-queue rules: disconnects before lags, long waits rise, service level, sticky routing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from outreach.decide.queue_rules import Agent, Waiting, rank, route, score

NOW = 1_000_000


def waiting(case_id: str, kind: str, waited_s: int, student: str | None = None) -> Waiting:
    return Waiting(case_id, kind, NOW - waited_s * 1000, student or f"stu-{case_id}")


def order(entries: list[Waiting], **kw: object) -> list[str]:
    return [r.entry.case_id for r in rank(entries, NOW, **kw)]  # type: ignore[arg-type]


def test_a_disconnected_child_comes_before_a_lagging_one_queued_at_the_same_time() -> None:
    assert order([waiting("lag", "lag", 10), waiting("drop", "disconnect", 10)]) == ["drop", "lag"]


def test_flapping_sits_between_disconnect_and_lag() -> None:
    entries = [waiting("l", "lag", 5), waiting("f", "flapping", 5), waiting("d", "disconnect", 5)]
    assert order(entries) == ["d", "f", "l"]


def test_a_long_wait_rises_above_a_fresh_disconnect() -> None:
    # A lag waiting 100 s (score 100) is below a fresh disconnect (score 180 + 1) ...
    assert order([waiting("lag", "lag", 100), waiting("drop", "disconnect", 1)],
                 sla_ms=10**9) == ["drop", "lag"]
    # ... and above it once it has waited longer than the disconnect's head start.
    assert order([waiting("lag", "lag", 200), waiting("drop", "disconnect", 1)],
                 sla_ms=10**9) == ["lag", "drop"]
    assert score(waiting("x", "lag", 200), NOW) == 200


def test_a_case_past_its_service_level_comes_first_and_says_so() -> None:
    ranked = rank([waiting("drop", "disconnect", 10), waiting("lag", "lag", 121)], NOW,
                  sla_ms=120_000)
    assert [r.entry.case_id for r in ranked] == ["lag", "drop"]
    assert ranked[0].breached and ranked[0].sla_left_ms == -1000
    assert not ranked[1].breached and ranked[1].sla_left_ms == 110_000


def test_claimed_cases_are_not_in_the_ranking() -> None:
    held = Waiting("held", "disconnect", NOW - 5000, "stu-9", owner="bob")
    assert order([held, waiting("lag", "lag", 1)]) == ["lag"]


def test_sticky_routing_offers_the_family_to_the_agent_who_last_helped_when_free() -> None:
    agents = [Agent("ann", True, idle_since=1), Agent("bob", True, idle_since=50)]
    assert route("stu-1", agents, last_helper="bob") == "bob"


def test_a_busy_or_offline_last_helper_is_passed_over_for_the_longest_idle_free_agent() -> None:
    agents = [Agent("ann", True, idle_since=30), Agent("bob", True, holding=1),
              Agent("cat", True, idle_since=10), Agent("dan", False)]
    assert route("stu-1", agents, last_helper="bob") == "cat"
    assert route("stu-1", agents, last_helper="dan") == "cat"
    assert route("stu-1", [Agent("bob", True, holding=1)], last_helper="bob") is None


def test_each_free_agent_is_offered_one_case_best_first() -> None:
    agents = [Agent("ann", True, idle_since=1), Agent("bob", True, idle_since=2)]
    ranked = rank([waiting("a", "disconnect", 30, "stu-a"), waiting("b", "lag", 30, "stu-b"),
                   waiting("c", "lag", 10, "stu-c")], NOW, agents, {"stu-b": "bob"})
    assert [(r.entry.case_id, r.offered_to) for r in ranked] == [
        ("a", "ann"), ("b", "bob"), ("c", None)]


kinds = st.sampled_from(["lag", "disconnect", "flapping"])
entries = st.lists(st.tuples(kinds, st.integers(0, 600), st.sampled_from(["s1", "s2", "s3"])),
                   max_size=12)
agent_lists = st.lists(st.tuples(st.sampled_from(["ann", "bob", "cat"]), st.booleans(),
                                 st.integers(0, 2)), max_size=3, unique_by=lambda a: a[0])


@given(entries, agent_lists, st.dictionaries(st.sampled_from(["s1", "s2", "s3"]),
                                             st.sampled_from(["ann", "bob", "cat"])))
def test_ranking_properties(raw: list[tuple[str, int, str]],
                            raw_agents: list[tuple[str, bool, int]],
                            helpers: dict[str, str]) -> None:
    items = [waiting(f"c{i}", k, w, s) for i, (k, w, s) in enumerate(raw)]
    agents = [Agent(n, online, holding) for n, online, holding in raw_agents]
    ranked = rank(items, NOW, agents, helpers, sla_ms=120_000)
    assert sorted(r.entry.case_id for r in ranked) == sorted(e.case_id for e in items)
    keys = [(not r.breached, -r.score) for r in ranked]
    assert keys == sorted(keys)  # past the service level first, then by score
    offered = [r.offered_to for r in ranked if r.offered_to is not None]
    assert len(offered) == len(set(offered))  # one offer per agent
    assert set(offered) <= {a.name for a in agents if a.free}
    for r in ranked:  # sticky: a free last helper gets their family's case, or another one
        helper = helpers.get(r.entry.student_id or "")
        if r.offered_to is not None and helper in {a.name for a in agents if a.free}:
            assert r.offered_to == helper or helper in offered
