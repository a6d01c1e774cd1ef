"""Recurring trouble of one family: a chronic bad link, and a lag that ends in a drop.

Placed after every other fault, from their own random stream, on sessions where they
fit, so the rest of a simulated day is the same with or without them:
- `chronic_link`: the family's link fails every 1-3 minutes for the whole lesson, each
  time for 30 s to 3 min (on a session that has no other fault);
- `lag_then_drop`: the class stutters for 40-90 s, then the student drops out of
  class for 15-40 s (the chat that was sent about the lag can no longer be seen).
"""

from __future__ import annotations

import random
from typing import Final

from monitor.simulate.actions import Action, Break, Degrade, FaultInstance
from monitor.simulate.faults import Drawn, apply, collides, footprint, rec, shift
from monitor.simulate.school import School, SessionPlan

RECURRING_FAULTS: Final = ("chronic_link", "lag_then_drop")


def draw_chronic_link(rng: random.Random, length: int) -> list[Action]:
    """Bursts of a failing link across `length` ms: 30-180 s bad, then 60-180 s fine."""
    actions: list[Action] = []
    t = rng.randint(0, 30_000)
    while True:
        burst = rng.randint(30_000, 180_000)
        if t + burst > length:
            return actions
        actions.append(Degrade(t, t + burst, 0.04, 0.3, 0.05))
        t += burst + rng.randint(60_000, 180_000)


def draw_lag_then_drop(rng: random.Random) -> Drawn:
    """A stutter of 40-90 s, then 15-40 s out of class, then back (reconnect ok)."""
    lag = rng.randint(40_000, 90_000)
    drop = lag + rng.randint(2_000, 8_000)
    back = drop + rng.randint(15_000, 40_000)
    resume = back + rng.randint(400, 1500)
    actions: list[Action] = [Degrade(0, lag, 0.04, 0.3, 0.05),
                             Break(drop, resume, (rec(back, 1, True),))]
    return actions, resume, True


def _place_chronic(plan: SessionPlan, rng: random.Random) -> FaultInstance | None:
    lo, hi = plan.usable
    if plan.busy or hi - lo < 10 * 60_000:
        return None
    actions = draw_chronic_link(rng, hi - lo)
    if not actions:
        return None
    apply(plan, [shift(a, lo) for a in actions], footprint(lo, hi, False))
    return FaultInstance("chronic_link", (plan.index,), lo, hi)


def _place_lag_then_drop(plan: SessionPlan, rng: random.Random) -> FaultInstance | None:
    actions, length, drop = draw_lag_then_drop(rng)
    lo, hi = plan.usable
    for _ in range(20):
        if hi - lo < length:
            return None
        t = rng.randint(lo, hi - length)
        fp = footprint(t, t + length, drop)
        if not collides(plan.busy, fp):
            apply(plan, [shift(a, t) for a in actions], fp)
            return FaultInstance("lag_then_drop", (plan.index,), t, t + length)
    return None


def plan_recurring_faults(school: School, rng: random.Random) -> list[FaultInstance]:
    """Roll the recurring faults for each session with the configured probability."""
    rates = school.config.faults
    out: list[FaultInstance] = []
    for plan in school.sessions:
        if rates.chronic_link > 0 and rng.random() < rates.chronic_link:
            placed = _place_chronic(plan, rng)
            if placed is not None:
                out.append(placed)
                continue
        if rates.lag_then_drop > 0 and rng.random() < rates.lag_then_drop:
            placed = _place_lag_then_drop(plan, rng)
            if placed is not None:
                out.append(placed)
    return out
