"""The whole day's plan: school layout, line faults, session faults, camera-off times."""

from __future__ import annotations

import random
from dataclasses import dataclass

from monitor.simulate.actions import FaultInstance
from monitor.simulate.config import SimConfig
from monitor.simulate.faults import plan_session_faults
from monitor.simulate.linefaults import plan_line_faults
from monitor.simulate.recurring import plan_recurring_faults
from monitor.simulate.school import MINUTE, School, build_school


@dataclass(slots=True)
class DayPlan:
    """A school with its faults placed (everything decided, nothing generated yet)."""

    school: School
    faults: list[FaultInstance]


def plan_camera_off(school: School, rng: random.Random) -> None:
    """Some teachers turn their camera off for 30-120 s (clients send heartbeats).

    Never over a fault that degrades quality, so lag faults stay visible.
    """
    for room in school.classrooms:
        if rng.random() >= school.config.camera_off_rate:
            continue
        lo, hi = room.start_ms + 3 * MINUTE, room.end_ms - 3 * MINUTE
        length = rng.randint(30_000, 120_000)
        if hi - lo < length:
            continue
        busy = [fp for i in room.sessions for fp in school.sessions[i].busy if not fp.drop]
        for _ in range(20):
            a = rng.randint(lo, hi - length)
            b = a + length
            if all(b + 20_000 <= fp.start or fp.end + 20_000 <= a for fp in busy):
                room.camera_off.append((a, b))
                break


def plan_day(config: SimConfig) -> DayPlan:
    """Lay out the school and place every fault, deterministically from the seed."""
    school = build_school(config)
    rng = random.Random(f"{config.seed}:faults")
    faults = plan_line_faults(school, rng)
    faults.extend(plan_session_faults(school, rng))
    faults.extend(plan_recurring_faults(school, random.Random(f"{config.seed}:recurring")))
    plan_camera_off(school, random.Random(f"{config.seed}:camera"))
    return DayPlan(school, faults)
