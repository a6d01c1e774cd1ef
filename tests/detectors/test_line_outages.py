"""One outage is one line incident: an edge that is down with the ISP+region lines related
to it under it, whichever record came first, and also after the edge's incident closed."""

from __future__ import annotations

from detectors.line_related import Outage, attach_related, outages
from detectors.records import Incident
from tests.support.factory import T0


def edge(sessions: list[str], start: int = T0) -> Incident:
    return Incident("line-edge", "line", "open", start, start + 5_000, None,
                    {"edge": "sfu-oslo"}, {}, sessions=sessions)


def isp(name: str, sessions: list[str], related_to: str | None = "edge:sfu-oslo",
        start: int = T0) -> Incident:
    evidence = {} if related_to is None else {"related_to": related_to, "edge_share": 1.0}
    return Incident(f"line-{name}", "line", "open", start, start + 6_000, None,
                    {"isp": name, "region": "oslo"}, evidence, sessions=sessions)


FJORD, KYST, NORD = (isp("fjordnet", ["s1", "s2"]), isp("kystlink", ["s3", "s4"]),
                     isp("nordfiber", ["s5", "s6"]))
ALL = ["s1", "s2", "s3", "s4", "s5", "s6"]


def grouped(records: list[Incident]) -> tuple[list[Outage], dict[str, Incident]]:
    """The outages after applying the records one by one, as the desk does."""
    lines: dict[str, Incident] = {}
    attached: dict[str, Incident] = {}
    for r in records:
        if r.state == "closed":
            lines.pop(r.incident_id, None)
            attached.pop(r.incident_id, None)
        else:
            lines[r.incident_id] = r
            attach_related(lines.values(), attached)
    return outages(lines.values(), attached), attached


def test_an_edge_and_its_three_isp_lines_are_one_outage_in_either_order() -> None:
    for order in ([edge(ALL), FJORD, KYST, NORD], [FJORD, KYST, NORD, edge(ALL)],
                  [FJORD, edge(ALL), NORD, KYST]):
        [one], _ = grouped(order)
        assert one.line == "edge:sfu-oslo" and one.incident_id == "line-edge"
        assert [r.incident_id for r in one.related] == [
            "line-fjordnet", "line-kystlink", "line-nordfiber"]
        assert one.sessions == frozenset(ALL)  # each session once
        assert not one.over


def test_an_isp_line_stays_in_the_outage_after_the_edge_closed_first() -> None:
    closed = Incident("line-edge", "line", "closed", T0, T0 + 5_000, T0 + 60_000,
                      {"edge": "sfu-oslo"}, {}, sessions=[])
    [one], attached = grouped([edge(ALL), FJORD, KYST, closed])
    assert (one.incident_id, one.line, one.over) == ("line-edge", "edge:sfu-oslo", True)
    assert [r.incident_id for r in one.related] == ["line-fjordnet", "line-kystlink"]
    assert one.sessions == frozenset(["s1", "s2", "s3", "s4"])
    assert set(attached) == {"line-fjordnet", "line-kystlink"}
    assert grouped([edge(ALL), FJORD, KYST, closed,
                    Incident("line-fjordnet", "line", "closed", T0, T0 + 6_000, T0 + 61_000,
                             {"isp": "fjordnet", "region": "oslo"}, {}, sessions=[]),
                    Incident("line-kystlink", "line", "closed", T0, T0 + 6_000, T0 + 61_000,
                             {"isp": "kystlink", "region": "oslo"}, {}, sessions=[])]) == (
        [], {})


def test_an_isp_line_whose_edge_is_not_down_is_an_outage_of_its_own() -> None:
    other = isp("telia", ["s9"], related_to="edge:sfu-bergen", start=T0 + 1)
    alone = isp("ice", ["s8"], related_to=None, start=T0 + 2)
    found, attached = grouped([edge(ALL), FJORD, other, alone])
    assert [(o.line, len(o.related)) for o in found] == [
        ("edge:sfu-oslo", 1), ("isp:telia/oslo", 0), ("isp:ice/oslo", 0)]
    assert set(attached) == {"line-fjordnet"}
