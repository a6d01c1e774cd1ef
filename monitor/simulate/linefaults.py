"""Infrastructure faults that hit every session on one line at once."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Final

from monitor.simulate.actions import Action, Break, Degrade, FaultInstance, Scripted
from monitor.simulate.faults import HOUR, apply, collides, footprint, rec
from monitor.simulate.school import School, SessionPlan

MIN_AFFECTED: Final = 6
MIN_SHARE: Final = 0.6

LineKey = tuple[tuple[str, str], ...]


def lines_of(school: School) -> tuple[dict[LineKey, list[int]], dict[LineKey, list[int]]]:
    """Sessions by edge line and by isp+region line."""
    edges: dict[LineKey, list[int]] = defaultdict(list)
    isps: dict[LineKey, list[int]] = defaultdict(list)
    for s in school.sessions:
        edges[(("edge", s.edge),)].append(s.index)
        isps[(("isp", s.isp), ("region", s.region))].append(s.index)
    return dict(edges), dict(isps)


def outage_actions(rng: random.Random, t: int, outage: int) -> tuple[Break, int, int]:
    """One session's view of an edge outage starting at `t`: silence, failing attempts
    or a `disconnect`, then recovery. Returns the break, its start and its resume."""
    start = t + rng.randint(0, 1500)
    recover = t + outage + rng.randint(500, 8000)
    events: list[Scripted] = []
    u = rng.random()
    if u < 0.45:
        attempt = 1
        if rng.random() < 0.5:
            events.append(rec(recover - 2000, 1, False))
            attempt = 2
        events.append(rec(recover, attempt, True))
        resume = recover + rng.randint(400, 1500)
    elif u < 0.9:
        r = start + rng.randint(300, 2000)
        attempt = 1
        while r < recover:
            events.append(rec(r, attempt, False))
            attempt += 1
            r += rng.randint(2000, 4000)
        events.append(rec(r, attempt, True))
        resume = r + rng.randint(400, 1500)
    else:
        events.append(
            Scripted(start + rng.randint(200, 1500), "disconnect", (("reason", "network"),))
        )
        events.append(Scripted(recover, "join"))
        resume = recover + rng.randint(1500, 2500)
    return Break(start, resume, tuple(events)), start, resume


def degradation_actions(rng: random.Random, t: int, length: int) -> tuple[Degrade, int, int]:
    """One session's view of an ISP degradation starting at `t`."""
    start = t + rng.randint(0, 2500)
    end = start + length
    return Degrade(start, end, 0.1, 0.5, 0.1), start, end


def _candidates(
    school: School, members: list[int], t: int, length: int, drop: bool
) -> tuple[list[SessionPlan], int]:
    sessions = [school.sessions[i] for i in members]
    active = [s for s in sessions if s.join_ms <= t <= s.leave_ms]
    affected = []
    for s in active:
        lo, hi = s.usable
        if lo <= t and t + length <= hi and not collides(s.busy, footprint(t, t + length, drop)):
            affected.append(s)
    return affected, len(active)


def place_line_fault(
    school: School, rng: random.Random, name: str, lines: dict[LineKey, list[int]], tries: int = 80
) -> FaultInstance | None:
    """Place one edge outage or ISP degradation where it clearly hits a line."""
    keys = sorted(k for k, members in lines.items() if len(members) >= MIN_AFFECTED)
    if not keys:
        return None
    span_lo, span_hi = school.span
    drop = name == "edge_outage"
    length = rng.randint(30_000, 120_000) if drop else rng.randint(60_000, 240_000)
    bound = length + 25_000  # the longest a session can be touched
    for _ in range(tries):
        key = rng.choice(keys)
        t = rng.randint(span_lo, max(span_lo, span_hi - bound))
        affected, active = _candidates(school, lines[key], t, bound, drop)
        rooms = {s.classroom for s in affected}
        if len(affected) < MIN_AFFECTED or len(rooms) < 2 or len(affected) < MIN_SHARE * active:
            continue
        end = t
        for s in affected:
            action: Action
            if drop:
                action, a, b = outage_actions(rng, t, length)
            else:
                action, a, b = degradation_actions(rng, t, length)
            apply(s, [action], footprint(a, b, drop))
            end = max(end, b)
        return FaultInstance(name, tuple(s.index for s in affected), t, end, key)
    return None


def plan_line_faults(school: School, rng: random.Random) -> list[FaultInstance]:
    """Edge outages and ISP degradations at the configured rates per line-hour."""
    rates = school.config.faults
    edge_lines, isp_lines = lines_of(school)
    lo, hi = school.span
    hours = (hi - lo) / HOUR
    out: list[FaultInstance] = []
    for name, rate, lines in (
        ("edge_outage", rates.edge_outage_per_edge_hour, edge_lines),
        ("isp_degradation", rates.isp_degradation_per_line_hour, isp_lines),
    ):
        expected = rate * len(lines) * hours
        count = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
        for _ in range(count):
            placed = place_line_fault(school, rng, name, lines)
            if placed is not None:
                out.append(placed)
    out.extend(_bad_edge_outages(school, edge_lines))
    return out


def _bad_edge_outages(school: School, edge_lines: dict[LineKey, list[int]]) -> list[FaultInstance]:
    """The injected bad edge's extra outages (own random stream)."""
    injected = school.config.injected
    members = edge_lines.get((("edge", injected.bad_edge),))
    if not injected.bad_edge or not members:
        return []
    rng = random.Random(f"{school.config.seed}:bad-edge")
    only: dict[LineKey, list[int]] = {(("edge", injected.bad_edge),): members}
    placed = (place_line_fault(school, rng, "edge_outage", only)
              for _ in range(injected.bad_edge_outages))
    return [p for p in placed if p is not None]
