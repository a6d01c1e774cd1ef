"""Voice of the customer: each team's top three problems, with figures and an action (pure).

A problem names its subject (a line, a release, a classroom, ...), this period's
figures, the previous period's beside them, and a suggested action. The rules:

- infrastructure: the lines whose incidents hit the most sessions (then minutes lost);
- product: first a new release worse than the one before it (`worse_release`), then the
  releases, systems and devices with the most lesson minutes lost;
- teaching: the classrooms and teachers with the most lesson minutes lost;
- support: a slow first contact (p95 over `FIRST_CONTACT_TARGET_S`), the families with
  the most cases, and cases still open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from outreach.decide.voc import UNKNOWN, LineTally, PeriodFigures, Tally

TEAMS: Final = ("infrastructure", "product", "teaching", "support")
TOP: Final = 3
FIRST_CONTACT_TARGET_S: Final = 60.0


@dataclass(frozen=True, slots=True)
class Problem:
    """One of a team's top problems."""

    team: str
    subject: str
    figures: str
    previous: str
    action: str

    def to_dict(self) -> dict[str, str]:
        """JSON form."""
        return {"team": self.team, "subject": self.subject, "figures": self.figures,
                "previous": self.previous, "action": self.action}


@dataclass(frozen=True, slots=True)
class ReleaseVerdict:
    """The newest release and the one before it, when the newest is worse."""

    new: Tally
    before: Tally


@dataclass(slots=True)
class Digest:
    """A period beside the previous one, and each team's top problems."""

    current: PeriodFigures
    previous: PeriodFigures
    worse_release: ReleaseVerdict | None
    problems: dict[str, list[Problem]] = field(default_factory=dict)


def version_key(version: str) -> tuple[int, ...]:
    """`5.10.2` -> (5, 10, 2); anything without digits sorts first."""
    return tuple(int(n) for n in re.findall(r"[0-9]+", version)[:6])


def worse_release(figures: PeriodFigures) -> ReleaseVerdict | None:
    """The newest release, if it had more incidents and more minutes lost than the one before.

    A count, not a rate: the cases tell which sessions had problems, not how many
    sessions each release ran.
    """
    known = sorted((t for t in figures.by_app_version if version_key(t.key)),
                   key=lambda t: version_key(t.key))
    if len(known) < 2:
        return None
    new, before = known[-1], known[-2]
    if new.incidents > before.incidents and new.minutes_lost > before.minutes_lost:
        return ReleaseVerdict(new, before)
    return None


def _find(tallies: list[Tally], key: str) -> Tally | None:
    return next((t for t in tallies if t.key == key), None)


def _tally_text(t: Tally | None) -> str:
    if t is None:
        return "none"
    return (f"{t.incidents} incidents, {t.minutes_lost:.1f} lesson min lost, "
            f"{len(t.students)} students")


def _line_text(t: LineTally | None) -> str:
    if t is None:
        return "none"
    detect = t.detect_p50_s
    shown = "n/a" if detect is None else f"{detect:.0f} s"
    return (f"{t.incidents} incidents, {len(t.sessions)} sessions, "
            f"{t.minutes_lost:.1f} lesson min lost, detected in {shown} (p50)")


def _infrastructure(cur: PeriodFigures, prev: PeriodFigures) -> list[Problem]:
    out = []
    for t in cur.lines[:TOP]:
        before = next((p for p in prev.lines if p.key == t.key), None)
        if t.key.startswith("edge:"):
            action = (f"check media server {t.key[5:]}: health, capacity and failover; "
                      "move lessons off it until it is fixed")
        else:
            action = f"open a ticket with {t.key[4:].replace('/', ' in ')} with these times"
        out.append(Problem("infrastructure", t.key, _line_text(t), _line_text(before), action))
    return out


def _product(cur: PeriodFigures, prev: PeriodFigures, verdict: ReleaseVerdict | None
             ) -> list[Problem]:
    out = []
    named: set[tuple[str, str]] = set()
    if verdict is not None:
        new, before = verdict.new, verdict.before
        out.append(Problem(
            "product", f"app {new.key} (new release) worse than {before.key}",
            f"{_tally_text(new)}; {before.key}: {_tally_text(before)}",
            _tally_text(_find(prev.by_app_version, new.key)),
            f"halt the rollout of {new.key}, roll back to {before.key} and look at its crashes"))
        named.add(("app", new.key))
    candidates = [("app", t) for t in cur.by_app_version] + [("os", t) for t in cur.by_os] + [
        ("device", t) for t in cur.by_device]
    candidates.sort(key=lambda c: (-c[1].minutes_lost, -c[1].incidents, c[0], c[1].key))
    earlier = {"app": prev.by_app_version, "os": prev.by_os, "device": prev.by_device}
    for dim, t in candidates:
        if len(out) >= TOP:
            break
        if (dim, t.key) in named or t.key == UNKNOWN:
            continue
        out.append(Problem("product", f"{dim} {t.key}", _tally_text(t),
                           _tally_text(_find(earlier[dim], t.key)),
                           f"look at the crash and quality reports of {dim} {t.key}"))
    return out


def _teaching(cur: PeriodFigures, prev: PeriodFigures) -> list[Problem]:
    candidates = [("classroom", t) for t in cur.by_classroom] + [
        ("teacher", t) for t in cur.by_teacher if t.key != UNKNOWN]
    candidates.sort(key=lambda c: (-c[1].minutes_lost, -c[1].incidents, c[0], c[1].key))
    out = []
    for dim, t in candidates[:TOP]:
        earlier = prev.by_classroom if dim == "classroom" else prev.by_teacher
        action = (f"offer make-up time for {dim} {t.key} and check its lesson setup "
                  "(camera, bandwidth, time of day)")
        out.append(Problem("teaching", f"{dim} {t.key}", _tally_text(t),
                           _tally_text(_find(earlier, t.key)), action))
    return out


def _support(cur: PeriodFigures, prev: PeriodFigures) -> list[Problem]:
    out = []
    p95 = cur.first_contact_p95_s
    if p95 is not None and p95 > FIRST_CONTACT_TARGET_S:
        before = prev.first_contact_p95_s
        out.append(Problem(
            "support", "slow first contact",
            f"p95 {p95:.0f} s (target {FIRST_CONTACT_TARGET_S:.0f} s)",
            "n/a" if before is None else f"p95 {before:.0f} s",
            "staff the queue at the busiest lesson hours; shorten the chat wait"))
    before_counts = dict(prev.recurring)
    for student, n in cur.recurring[: TOP - len(out) - 1]:
        out.append(Problem("support", f"family of {student}", f"{n} cases",
                           f"{before_counts.get(student, 0)} cases",
                           "call the family: check their device and connection before the next "
                           "lesson"))
    still_open = cur.outcomes.get("open", 0)
    if still_open and len(out) < TOP:
        out.append(Problem("support", "cases still open", f"{still_open} open",
                           f"{prev.outcomes.get('open', 0)} open",
                           "close or hand over the open cases"))
    return out[:TOP]


def build_digest(current: PeriodFigures, previous: PeriodFigures) -> Digest:
    """The digest of `current`, with `previous` beside it and each team's top problems."""
    verdict = worse_release(current)
    return Digest(current, previous, verdict, {
        "infrastructure": _infrastructure(current, previous),
        "product": _product(current, previous, verdict),
        "teaching": _teaching(current, previous),
        "support": _support(current, previous),
    })
