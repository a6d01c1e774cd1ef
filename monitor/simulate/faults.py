"""Fault injection: what each fault does to a session, and where faults are placed.

Each session fault is first drawn relative to time 0 (its actions and length),
then placed at a time where it does not collide with the session's other
faults: any two faults of a session are >= 45 s apart, and two faults that drop
the connection are >= 330 s apart, so only `flapping_wifi` makes 3 drops within
5 minutes. Around every fault the link is kept healthy, so the fault alone
decides what the telemetry shows.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from typing import Final

from monitor.simulate.actions import (
    Action,
    Break,
    Degrade,
    FaultInstance,
    Footprint,
    Pattern,
    Quiet,
    Scripted,
)
from monitor.simulate.school import School, SessionPlan

SEP_ANY: Final = 45_000
SEP_DROP: Final = 330_000
MARGIN: Final = 15_000
HOUR: Final = 3_600_000

Drawn = tuple[list[Action], int, bool]  # actions relative to 0, length, drops the connection


def rec(ts: int, attempt: int, ok: bool) -> Scripted:
    """A reconnect attempt."""
    return Scripted(ts, "reconnect", (("attempt", attempt), ("ok", ok)))


def shift(action: Action, by: int) -> Action:
    """The same action moved by `by` ms."""
    if isinstance(action, Break):
        events = tuple(replace(e, ts=e.ts + by) for e in action.events)
        resume = None if action.resume is None else action.resume + by
        return replace(action, start=action.start + by, resume=resume, events=events)
    if isinstance(action, Degrade | Quiet):
        return replace(action, start=action.start + by, end=action.end + by)
    return replace(action, start=action.start + by)


# --- session faults, drawn relative to 0 (the last media tick is just before 0) ---


def draw_wifi_drop(rng: random.Random) -> Drawn:
    """Wi-Fi gone for 12-45 s: silence then reconnect, or failing attempts."""
    events: list[Scripted] = []
    if rng.random() < 0.55:
        t = rng.randint(12_000, 45_000)
        attempt = 1
        for _ in range(rng.choice((0, 0, 1, 2))):
            events.append(rec(t, attempt, False))
            attempt += 1
            t += rng.randint(1500, 3000)
        events.append(rec(t, attempt, True))
    else:
        first = t = rng.randint(300, 2000)
        total = rng.randint(13_000, 40_000)
        attempt = 1
        while t < first + total:
            events.append(rec(t, attempt, False))
            attempt += 1
            t += rng.randint(2000, 3500)
        events.append(rec(t, attempt, True))
    resume = t + rng.randint(400, 1500)
    return [Break(0, resume, tuple(events))], resume, True


def _crash_events(rng: random.Random) -> tuple[list[Scripted], int]:
    if rng.random() < 0.55:
        at = rng.randint(100, 1500)
        return [Scripted(at, "disconnect", (("reason", "app_crash"),))], at + rng.randint(
            4000, 50_000
        )
    return [], rng.randint(12_000, 50_000)


def draw_app_crash(rng: random.Random) -> Drawn:
    """The app dies (with or without a `disconnect`), then joins again."""
    events, rejoin = _crash_events(rng)
    events.append(Scripted(rejoin, "join"))
    resume = rejoin + rng.randint(1500, 2500)
    return [Break(0, resume, tuple(events))], resume, True


def draw_crash_no_return(rng: random.Random) -> Drawn:
    """The app dies and the student never comes back (no leave)."""
    events, _ = _crash_events(rng)
    return [Break(0, None, tuple(events))], 60_000, True


def draw_cellular_fade(rng: random.Random) -> Drawn:
    """Sustained poor cellular coverage for 30-150 s."""
    length = rng.randint(30_000, 150_000)
    return [Degrade(0, length, 0.08, 0.5, 0.12)], length, False


def draw_flapping_wifi(rng: random.Random) -> Drawn:
    """3-5 drops, 20-80 s apart: mostly short reconnects, some long silences."""
    actions: list[Action] = []
    t = 0
    resume = 0
    for _ in range(rng.choice((3, 3, 4, 5))):
        events: list[Scripted] = []
        if rng.random() < 0.7:
            r0 = t + rng.randint(300, 1500)
            ok = r0 + rng.randint(3000, 7000)
            events.append(rec(r0, 1, False))
            attempt = 2
            if ok - r0 > 3500:
                events.append(rec(r0 + rng.randint(1500, 3000), 2, False))
                attempt = 3
            events.append(rec(ok, attempt, True))
        else:
            ok = t + rng.randint(13_000, 20_000)
            events.append(rec(ok, 1, True))
        resume = ok + rng.randint(400, 1500)
        actions.append(Break(t, resume, tuple(events)))
        t = resume + rng.randint(20_000, 60_000)
    return actions, resume, True


def draw_blip(rng: random.Random) -> Drawn:
    """Self-healing: one quick reconnect, and/or one or two degraded intervals."""
    if rng.random() < 0.6:
        r0 = rng.randint(300, 1500)
        ok = r0 + rng.randint(1500, 5000)
        resume = ok + rng.randint(400, 1200)
        actions: list[Action] = [Break(0, resume, (rec(r0, 1, False), rec(ok, 2, True)))]
        after: tuple[bool, ...] = rng.choice(((), (True,), (True, True)))
        if after:
            actions.append(Pattern(resume, after))
        return actions, resume + 10_000, True
    alone: tuple[bool, ...] = rng.choice(((True,), (True, True), (True, False, True)))
    return [Pattern(0, alone)], 12_000, False


def draw_near_lag(rng: random.Random) -> Drawn:
    """Borderline, not a lag: never 3 degraded among any 5 intervals."""
    return [Pattern(0, (True, False, False, True, False, False, True))], 20_000, False


def draw_marginal_lag(rng: random.Random) -> Drawn:
    """Borderline, a lag: exactly 3 of 5 degraded."""
    return [Pattern(0, (True, False, True, False, True))], 15_000, False


def draw_ok_at_10s(rng: random.Random) -> Drawn:
    """Borderline, not a disconnect: `ok: true` exactly 10 s after the first attempt."""
    r0 = rng.randint(300, 1500)
    events = (
        rec(r0, 1, False),
        rec(r0 + 3300, 2, False),
        rec(r0 + 6600, 3, False),
        rec(r0 + 9000, 4, False),
        rec(r0 + 10_000, 5, True),
    )
    resume = r0 + 10_000 + rng.randint(300, 1000)
    return [Break(0, resume, events)], resume, True


def draw_stall_10s(rng: random.Random) -> Drawn:
    """Borderline, a disconnect: exactly 10 s without any event."""
    return [Break(0, 10_000, (), gap_after_last_tick=10_000)], 12_000, True


SESSION_DRAWS: Final[dict[str, Callable[[random.Random], Drawn]]] = {
    "wifi_drop": draw_wifi_drop,
    "app_crash": draw_app_crash,
    "crash_no_return": draw_crash_no_return,
    "cellular_fade": draw_cellular_fade,
    "flapping_wifi": draw_flapping_wifi,
    "blip": draw_blip,
    "near_lag": draw_near_lag,
    "marginal_lag": draw_marginal_lag,
    "ok_at_10s": draw_ok_at_10s,
    "stall_10s": draw_stall_10s,
}
ELIGIBLE_CONN: Final = {
    "wifi_drop": ("wifi",),
    "cellular_fade": ("cellular",),
    "flapping_wifi": ("wifi",),
}


# --- placement ---


def collides(busy: list[Footprint], fp: Footprint) -> bool:
    """True if `fp` is too close to a footprint already on the session."""
    for other in busy:
        gap = max(other.start - fp.end, fp.start - other.end)
        if gap < (SEP_DROP if other.drop and fp.drop else SEP_ANY):
            return True
    return False


def footprint(start: int, end: int, drop: bool) -> Footprint:
    """The time a fault core [start, end] occupies, with its healthy margins."""
    return Footprint(start - MARGIN, end + MARGIN, drop)


def apply(plan: SessionPlan, actions: list[Action], fp: Footprint) -> None:
    """Put placed actions on a session, keeping its link healthy around them."""
    plan.actions.append(Quiet(fp.start, fp.end))
    plan.actions.extend(actions)
    plan.busy.append(fp)


def place_session_fault(
    rng: random.Random, plan: SessionPlan, name: str, tries: int = 20
) -> FaultInstance | None:
    """Draw one fault for a session and place it where it fits, if anywhere."""
    actions, length, drop = SESSION_DRAWS[name](rng)
    lo, hi = plan.usable
    if hi - lo < length:
        return None
    for _ in range(tries):
        t = rng.randint(lo, hi - length)
        end = plan.leave_ms + MARGIN if name == "crash_no_return" else t + length
        fp = footprint(t, end, drop)
        if not collides(plan.busy, fp):
            apply(plan, [shift(a, t) for a in actions], fp)
            return FaultInstance(name, (plan.index,), t, end)
    return None


def plan_session_faults(school: School, rng: random.Random) -> list[FaultInstance]:
    """Roll each session fault for each session with the configured probability."""
    rates = school.config.faults
    injected = school.config.injected
    out: list[FaultInstance] = []
    for plan in school.sessions:
        bad_release = plan.app_version == (injected.bad_app_version or None)
        for name in SESSION_DRAWS:
            if plan.conn not in ELIGIBLE_CONN.get(name, (plan.conn,)):
                continue
            rate = getattr(rates, name)
            if bad_release and name == "app_crash":
                rate = max(rate, injected.bad_app_crash)
            if rng.random() < rate:
                placed = place_session_fault(rng, plan, name)
                if placed is not None:
                    out.append(placed)
    return out
