"""Voice of the customer: one period's cases counted per team (pure; no I/O, no clock).

`outreach.store.voc` reads the cases of a period as `CaseFact`s; `period_figures`
counts them for the infrastructure, product, teaching and support teams, and
`outreach.decide.voc_rules` picks each team's top three problems.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

from outreach.decide.percentiles import percentile

UNKNOWN: Final = "unknown"
# Session problems that began this long before a line incident are still counted on it.
LINE_LEAD_MS: Final = 30_000
NO_SCORES: Final = "no follow-up scores yet"  # no family answered a follow-up in the period


@dataclass(frozen=True, slots=True)
class CaseFact:
    """What the digest needs of one case (a session problem or a line incident)."""

    case_id: str
    kind: str
    started_at: int
    ended_at: int | None = None
    detected_at: int | None = None  # line incidents only (time to detect)
    first_contact_at: int | None = None
    minutes_lost: float = 0.0
    student_id: str = UNKNOWN
    classroom_id: str = UNKNOWN
    teacher: str = UNKNOWN
    device: str = UNKNOWN
    os: str = UNKNOWN
    app_version: str = UNKNOWN
    edge: str = UNKNOWN
    isp_region: str = UNKNOWN
    line: str = UNKNOWN  # a line incident's line id: edge:<edge> or isp:<isp>/<region>
    cause: str = UNKNOWN
    outcome: str = "open"  # the outcome code once closed
    sessions: tuple[str, ...] = ()  # a line incident's sessions
    related_to: str | None = None  # a related line: the line of the edge's incident it is under


@dataclass(slots=True)
class Tally:
    """Incidents and lesson minutes lost of one group (a release, a classroom, ...)."""

    key: str
    incidents: int = 0
    minutes_lost: float = 0.0
    students: set[str] = field(default_factory=set)

    def add(self, fact: CaseFact) -> None:
        """Count one session case."""
        self.incidents += 1
        self.minutes_lost += fact.minutes_lost
        if fact.student_id != UNKNOWN:
            self.students.add(fact.student_id)


@dataclass(slots=True)
class LineTally:
    """One line (an edge, or an ISP in a region): its incidents and what they cost."""

    key: str  # edge:<edge> or isp:<isp>/<region>
    incidents: int = 0
    sessions: set[str] = field(default_factory=set)
    minutes_lost: float = 0.0
    detect_ms: list[int] = field(default_factory=list)
    related: Counter[str] = field(default_factory=Counter)  # related lines under its incidents

    @property
    def detect_p50_s(self) -> float | None:
        """Median time from the start of the trouble to its detection, in seconds."""
        p = percentile(self.detect_ms, 0.5)
        return None if p is None else p / 1000


@dataclass(slots=True)
class PeriodFigures:
    """Everything the digest says about one period, per team."""

    since_ms: int
    until_ms: int
    session_cases: int = 0
    minutes_lost: float = 0.0
    line_caused: int = 0  # session cases that began during a line incident on their line
    lines: list[LineTally] = field(default_factory=list)
    by_app_version: list[Tally] = field(default_factory=list)
    by_os: list[Tally] = field(default_factory=list)
    by_device: list[Tally] = field(default_factory=list)
    by_classroom: list[Tally] = field(default_factory=list)
    by_teacher: list[Tally] = field(default_factory=list)
    first_contact_ms: list[int] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    recurring: list[tuple[str, int]] = field(default_factory=list)  # student, cases (>= 2)
    goodwill: Counter[str] = field(default_factory=Counter)  # families given, by offer kind
    satisfaction: str = NO_SCORES  # follow-up scores answered in the period (`store.voc`)
    # The same scores by release, classroom and teacher, lowest mean first (`store.voc`).
    satisfaction_by: dict[str, str] = field(default_factory=dict)

    @property
    def first_contact_p50_s(self) -> float | None:
        """Median seconds from the problem to the first contact attempt."""
        p = percentile(self.first_contact_ms, 0.5)
        return None if p is None else p / 1000

    @property
    def first_contact_p95_s(self) -> float | None:
        """95th percentile seconds from the problem to the first contact attempt."""
        p = percentile(self.first_contact_ms, 0.95)
        return None if p is None else p / 1000

    @property
    def line_incidents(self) -> int:
        """Line incidents of the period (one per outage: related lines are not counted)."""
        return sum(t.incidents for t in self.lines)



def _ranked(groups: dict[str, Tally]) -> list[Tally]:
    return sorted(groups.values(), key=lambda t: (-t.minutes_lost, -t.incidents, t.key))


def _tally(facts: list[CaseFact], attr: str) -> list[Tally]:
    groups: dict[str, Tally] = {}
    for f in facts:
        key = str(getattr(f, attr))
        groups.setdefault(key, Tally(key)).add(f)
    return _ranked(groups)


def _by_line(session_facts: list[CaseFact]) -> dict[str, tuple[list[int], list[CaseFact]]]:
    """Session problems per line key (`edge:<edge>`, `isp:<isp>/<region>`), by start time."""
    groups: dict[str, list[CaseFact]] = {}
    for f in session_facts:
        if f.edge != UNKNOWN:
            groups.setdefault("edge:" + f.edge, []).append(f)
        if f.isp_region != UNKNOWN:
            groups.setdefault("isp:" + f.isp_region, []).append(f)
    out = {}
    for key, facts in groups.items():
        facts.sort(key=lambda f: f.started_at)
        out[key] = ([f.started_at for f in facts], facts)
    return out


def _lines(line_facts: list[CaseFact], session_facts: list[CaseFact], until_ms: int
           ) -> tuple[list[LineTally], set[str]]:
    """Line incidents by line: sessions hit, and the minutes lost by session problems on that
    line that began during one of its incidents (or just before it). Also the ids of the
    session cases so explained."""
    index = _by_line(session_facts)
    groups: dict[str, LineTally] = {}
    counted: dict[str, set[str]] = {}
    for inc in line_facts:
        if inc.related_to is not None:  # one outage, one line incident: under its edge's
            t = groups.setdefault(inc.related_to, LineTally(inc.related_to))
            t.related[inc.line] += 1
            t.sessions.update(inc.sessions)
            continue
        t = groups.setdefault(inc.line, LineTally(inc.line))
        t.incidents += 1
        t.sessions.update(inc.sessions)
        if inc.detected_at is not None:
            t.detect_ms.append(max(0, inc.detected_at - inc.started_at))
        end = inc.ended_at if inc.ended_at is not None else until_ms
        starts, facts = index.get(inc.line, ([], []))
        seen = counted.setdefault(inc.line, set())
        lo = bisect_left(starts, inc.started_at - LINE_LEAD_MS)
        for f in facts[lo:bisect_right(starts, end)]:
            if f.case_id not in seen:
                seen.add(f.case_id)
                t.minutes_lost += f.minutes_lost
    ranked = sorted(groups.values(),
                    key=lambda t: (-len(t.sessions), -t.minutes_lost, -t.incidents, t.key))
    return ranked, set().union(*counted.values())


def period_figures(facts: list[CaseFact], since_ms: int, until_ms: int) -> PeriodFigures:
    """Count one period's cases for every team.

    Session problems caused by a line incident count for infrastructure (on the line)
    and support, not against a release, device, classroom or teacher.
    """
    sessions = [f for f in facts if f.kind != "line"]
    lines = [f for f in facts if f.kind == "line"]
    by_line, covered = _lines(lines, sessions, until_ms)
    own = [f for f in sessions if f.case_id not in covered]
    per_student = Counter(f.student_id for f in sessions if f.student_id != UNKNOWN)
    return PeriodFigures(
        since_ms=since_ms,
        until_ms=until_ms,
        session_cases=len(sessions),
        minutes_lost=round(sum(f.minutes_lost for f in sessions), 2),
        line_caused=len(sessions) - len(own),
        lines=by_line,
        by_app_version=_tally(own, "app_version"),
        by_os=_tally(own, "os"),
        by_device=_tally(own, "device"),
        by_classroom=_tally(own, "classroom_id"),
        by_teacher=_tally(own, "teacher"),
        first_contact_ms=[max(0, f.first_contact_at - f.started_at) for f in sessions
                          if f.first_contact_at is not None],
        outcomes=Counter(f.outcome for f in facts),
        recurring=sorted(((s, n) for s, n in per_student.items() if n >= 2),
                         key=lambda p: (-p[1], p[0])),
    )


def line_parts(line: str) -> tuple[str, str]:
    """`(edge, isp/region)` of a session's line id (`line:edge=../isp=../region=..`)."""
    if not line.startswith("line:"):
        return UNKNOWN, UNKNOWN
    parts = dict(p.split("=", 1) for p in line[5:].split("/") if "=" in p)
    edge = parts.get("edge", UNKNOWN)
    isp, region = parts.get("isp"), parts.get("region")
    return edge, (f"{isp}/{region}" if isp and region else UNKNOWN)
