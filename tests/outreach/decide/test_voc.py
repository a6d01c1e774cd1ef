"""The digest's counting and its top-three rules, on hand-made cases."""

from __future__ import annotations

from outreach.decide.percentiles import percentile
from outreach.decide.voc import CaseFact, line_parts, period_figures
from outreach.decide.voc_rules import build_digest, version_key, worse_release

T = 1_767_258_000_000
MIN = 60_000


def session(cid: str, at: int, *, app: str = "5.3.2", minutes: float = 2.0,
            edge: str = "sfu-oslo", student: str = "stu-1", room: str = "room-a",
            contact: int | None = None, outcome: str = "open") -> CaseFact:
    return CaseFact(cid, "disconnect", at, at + MIN, at + 5000, contact, minutes, student, room,
                    "ms-berg", "ipad", "iPadOS 17.5", app, edge, "fjordnet/oslo",
                    "line:edge=" + edge + "/isp=fjordnet/region=oslo", "disconnect: network",
                    outcome)


def outage(cid: str, at: int, edge: str, sessions: tuple[str, ...]) -> CaseFact:
    return CaseFact(cid, "line", at, at + 2 * MIN, at + 12_000, line="edge:" + edge,
                    sessions=sessions)


def test_line_parts_and_percentiles() -> None:
    assert line_parts("line:edge=sfu-oslo/isp=fjordnet/region=oslo") == ("sfu-oslo",
                                                                      "fjordnet/oslo")
    assert line_parts("edge:sfu-oslo") == ("unknown", "unknown")
    assert percentile([], 0.5) is None
    assert percentile([5, 1, 3, 2, 4], 0.5) == 3
    assert percentile(list(range(1, 101)), 0.95) == 95
    assert version_key("5.10.0") > version_key("5.9.3") > version_key("beta") == ()


def test_problems_during_an_outage_count_on_the_line_not_against_the_release() -> None:
    facts = [outage("L1", T, "sfu-bergen", ("a", "b", "c")),
             session("s1", T + 1000, app="5.4.0", edge="sfu-bergen", minutes=3.0),
             session("s2", T + 2000, app="5.4.0", edge="sfu-bergen", minutes=4.0),
             session("s3", T + 3000, app="5.4.0", edge="sfu-oslo", minutes=1.0),
             session("s4", T + 10 * MIN, app="5.4.0", edge="sfu-bergen", minutes=1.0)]
    fig = period_figures(facts, T, T + 60 * MIN)
    (line,) = fig.lines
    assert (line.key, line.incidents, len(line.sessions), line.minutes_lost) == (
        "edge:sfu-bergen", 1, 3, 7.0)
    assert line.detect_p50_s == 12.0
    assert fig.line_caused == 2
    assert [(t.key, t.incidents) for t in fig.by_app_version] == [("5.4.0", 2)]
    assert fig.session_cases == 4 and fig.minutes_lost == 9.0


def test_a_new_release_worse_than_the_one_before_is_named_first() -> None:
    old = [session(f"o{i}", T + i * MIN, app="5.3.2", student=f"stu-{i}") for i in range(3)]
    new = [session(f"n{i}", T + i * MIN, app="5.4.0", minutes=5.0, student=f"stu-n{i}")
           for i in range(4)]
    cur = period_figures(old + new, T, T + 60 * MIN)
    prev = period_figures(old, T - 60 * MIN, T)
    verdict = worse_release(cur)
    assert verdict is not None and (verdict.new.key, verdict.before.key) == ("5.4.0", "5.3.2")
    digest = build_digest(cur, prev)
    first = digest.problems["product"][0]
    assert first.subject == "app 5.4.0 (new release) worse than 5.3.2"
    assert first.figures.startswith("4 incidents, 20.0 lesson min lost, 4 students")
    assert first.previous == "none"
    assert len(digest.problems["product"]) == 3
    # An older release that is worse is not named as a new one.
    assert worse_release(period_figures(new[:1] + old, T, T + 60 * MIN)) is None


def test_support_names_slow_first_contact_recurring_families_and_open_cases() -> None:
    facts = [session(f"s{i}", T + i * MIN, contact=T + i * MIN + 90_000, student="stu-9")
             for i in range(3)] + [session("ok", T, contact=T + 10_000, student="stu-2",
                                           outcome="self_recovered")]
    cur = period_figures(facts, T, T + 60 * MIN)
    assert cur.first_contact_p50_s == 90.0 and cur.first_contact_p95_s == 90.0
    assert cur.recurring == [("stu-9", 3)]
    assert cur.outcomes == {"open": 3, "self_recovered": 1}
    support = build_digest(cur, period_figures([], T - 60 * MIN, T)).problems["support"]
    assert [p.subject for p in support] == ["slow first contact", "family of stu-9",
                                            "cases still open"]
    assert support[0].previous == "n/a"
    assert cur.satisfaction == "no follow-up scores yet"


def test_an_empty_period_has_no_problems() -> None:
    digest = build_digest(period_figures([], T, T + MIN), period_figures([], T - MIN, T))
    assert digest.problems == {team: [] for team in digest.problems}
    assert digest.worse_release is None


def test_an_isp_line_related_to_a_down_edge_is_listed_under_the_edges_incident() -> None:
    facts = [outage("L1", T, "sfu-oslo", ("a", "b", "c")),
             *(CaseFact(f"L-{isp}", "line", T + 1000, T + 2 * MIN, T + 14_000,
                        line=f"isp:{isp}/oslo", sessions=(sid,), related_to="edge:sfu-oslo")
               for isp, sid in (("fjordnet", "a"), ("kystlink", "b"), ("nordfiber", "c"))),
             session("s1", T + 2000, edge="sfu-oslo", minutes=3.0)]
    fig = period_figures(facts, T, T + 60 * MIN)
    (line,) = fig.lines  # one outage, one line incident
    assert (line.key, line.incidents, len(line.sessions), line.minutes_lost) == (
        "edge:sfu-oslo", 1, 3, 3.0)
    assert dict(line.related) == {"isp:fjordnet/oslo": 1, "isp:kystlink/oslo": 1,
                                  "isp:nordfiber/oslo": 1}
    assert fig.line_incidents == 1 and fig.line_caused == 1
