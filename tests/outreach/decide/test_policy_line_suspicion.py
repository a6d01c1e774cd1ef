"""When the policy waits for a line verdict: enough of the line in trouble, unexplained (#20).

A line verdict needs `line_min_share` (30 %) of a line's sessions in trouble; the policy
waits `line_wait_ms` for one only while at least `line_suspect_sessions` sessions and
`line_suspect_share` of the line are in trouble that no line incident already explains.
"""

from __future__ import annotations

from detectors.line_pressure import Strain
from detectors.records import Incident
from outreach.decide.decision import PolicyConfig
from tests.outreach.decide.test_outreach_policy import T0, Policy, incident

CFG = PolicyConfig()
DETECTED = T0 + 10_000
AT_HOLD_OFF = DETECTED + CFG.hold_off_ms
AFTER_WAIT = AT_HOLD_OFF + CFG.line_wait_ms


def edge_incident(sessions: list[str]) -> Incident:
    """The edge's line incident, covering `sessions`."""
    return Incident(incident_id="line-e9", kind="line", state="open", started_at=T0,  # type: ignore[arg-type]
                    detected_at=T0 + 5000, ended_at=None, line={"edge": "e9"}, evidence={},
                    sessions=sessions)


def decided_at(strains: list[Strain], *before: Incident) -> int:
    """When the family of s1's drop is decided, the line strained as given."""
    pol = Policy()
    pol.p.line_strains = lambda _line, _now: strains
    pol.feed(*before, incident("disconnect", sid="s1", detected=DETECTED))
    pol.feed(now=AT_HOLD_OFF)
    pol.feed(now=AFTER_WAIT)
    [o] = [o for o in pol.out if o.session_id == "s1"]
    return o.decided_at


def trouble(n: int, prefix: str = "o") -> frozenset[str]:
    """s1 and n - 1 others in trouble."""
    return frozenset({"s1", *(f"{prefix}{i}" for i in range(n - 1))})


def test_three_of_a_small_line_in_trouble_make_the_policy_wait() -> None:
    assert decided_at([Strain("edge:e1", trouble(3), active=12)]) == AFTER_WAIT


def test_three_of_a_line_of_a_thousand_are_not_a_line_and_nobody_waits() -> None:
    assert decided_at([Strain("edge:e1", trouble(3), active=1000)]) == AT_HOLD_OFF


def test_a_big_line_waits_once_its_share_in_trouble_could_become_a_verdict() -> None:
    share = CFG.line_suspect_share
    assert decided_at([Strain("edge:e1", trouble(int(1000 * share)), active=1000)]) == AFTER_WAIT
    assert decided_at([Strain("edge:e1", trouble(int(1000 * share) - 1), active=1000)]) == (
        AT_HOLD_OFF)


def test_either_line_may_be_the_suspect() -> None:
    quiet_edge = Strain("edge:e1", trouble(3), active=1000)
    busy_isp = Strain("isp:i1/r1", trouble(4), active=20)
    assert decided_at([quiet_edge, busy_isp]) == AFTER_WAIT


def test_a_line_of_unknown_size_counts_sessions_only() -> None:
    assert decided_at([Strain("edge:e1", trouble(3), active=0)]) == AFTER_WAIT
    assert decided_at([Strain("edge:e1", trouble(2), active=0)]) == AT_HOLD_OFF


def test_sessions_another_line_incident_explains_do_not_make_a_line_suspect() -> None:
    # The ISP line: 30 of its 100 sessions are on edge e9, which went down (covered), 3 others
    # lag. Counted with the edge's, 33 % of the line; unexplained, 3 %: no wait.
    down = [f"d{i}" for i in range(30)]
    isp = Strain("isp:i1/r1", trouble(4) | set(down), active=100)
    assert decided_at([isp], edge_incident(down)) == AT_HOLD_OFF
    assert decided_at([isp]) == AFTER_WAIT  # the same strain before the edge's verdict came
