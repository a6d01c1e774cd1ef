"""The policy adds up a line incident's records, which name only the sessions added (issue 20)."""

from __future__ import annotations

from tests.outreach.decide.test_outreach_policy import T0, Policy, incident, line


def test_a_session_named_only_in_an_update_is_covered() -> None:
    pol = Policy()
    update = line(["s2"], state="update")
    update.session_count = 2
    [o] = pol.feed(line(["s1"]), update, incident("disconnect", sid="s2", detected=T0 + 10_000),
                   now=T0 + 20_000)
    assert (o.action, o.reason) == ("chat", "covered_by_line_incident")


def test_a_closed_record_naming_nobody_ends_the_cover_of_every_member() -> None:
    pol = Policy()
    update = line(["s2"], state="update")
    closed = line([], state="closed", ended=T0 + 30_000)
    closed.session_count = 2
    pol.feed(line(["s1"]), update, closed)
    out = pol.feed(incident("disconnect", sid="s1", detected=T0 + 100_000),
                   incident("disconnect", sid="s2", detected=T0 + 100_000), now=T0 + 110_000)
    assert sorted((o.session_id, o.reason) for o in out) == [
        ("s1", "disconnect"), ("s2", "disconnect")]  # the grace (60 s) is over: called
