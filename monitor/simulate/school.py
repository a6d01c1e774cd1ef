"""The school: classrooms, student sessions, devices and the lines they use."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Final

from monitor.simulate.actions import Action, Footprint
from monitor.simulate.config import ISP_WEIGHTS, ISPS, REGIONS, SimConfig
from monitor.simulate.traces import Family

MINUTE: Final = 60_000
DEVICES: Final = ("pc", "mac", "ipad", "android_pad", "phone")
DEVICE_WEIGHTS: Final = (0.25, 0.15, 0.25, 0.15, 0.2)
OS_BY_DEVICE: Final = {
    "pc": ("Windows 11", "Windows 10"),
    "mac": ("macOS 14.5", "macOS 13.6"),
    "ipad": ("iPadOS 17.5", "iPadOS 16.7"),
    "android_pad": ("Android 13", "Android 12"),
    "phone": ("iOS 17.4", "Android 14"),
}
CONN_BY_DEVICE: Final = {
    "pc": (("wired", 0.45), ("wifi", 0.55)),
    "mac": (("wired", 0.2), ("wifi", 0.8)),
    "ipad": (("wifi", 0.85), ("cellular", 0.15)),
    "android_pad": (("wifi", 0.8), ("cellular", 0.2)),
    "phone": (("cellular", 0.55), ("wifi", 0.45)),
}
NEED_KBPS: Final = {
    "pc": (1100.0, 1500.0),
    "mac": (1100.0, 1500.0),
    "ipad": (800.0, 1100.0),
    "android_pad": (650.0, 900.0),
    "phone": (450.0, 650.0),
}
BASE_RTT: Final = {"wired": (12.0, 35.0), "wifi": (20.0, 60.0), "cellular": (55.0, 140.0)}
BASE_JITTER: Final = {"wired": (1.0, 4.0), "wifi": (2.0, 10.0), "cellular": (6.0, 20.0)}
BASE_LOSS: Final = {"wired": (0.0, 0.2), "wifi": (0.05, 0.8), "cellular": (0.2, 1.5)}
APP_VERSIONS: Final = (("5.3.2", 0.55), ("5.3.0", 0.3), ("5.2.1", 0.15))
PRIMARY_EDGE_SHARE: Final = 0.85
# Capacity at a trace's 10th percentile, in multiples of what the video needs.
# Calibrated so that trace-driven lag is occasional: about 0.3-0.8 per
# session-hour (cellular most, Oboe Wi-Fi least; FCC has real outages).
HEADROOM: Final = {
    "cooked_3gp": (1.45, 1.75),
    "traces_oboe": (1.6, 2.0),
    "fcc_ori_test_traces": (2.5, 3.2),
}


@dataclass(slots=True)
class Classroom:
    """One live lesson with its teacher."""

    index: int
    classroom_id: str
    start_ms: int
    end_ms: int
    sessions: list[int] = field(default_factory=list)
    camera_off: list[tuple[int, int]] = field(default_factory=list)


@dataclass(slots=True)
class SessionPlan:
    """One student's attendance of one lesson, with everything needed to generate it."""

    index: int
    session_id: str
    student_id: str
    classroom: int
    classroom_id: str
    device: str
    os: str
    app_version: str
    conn: str
    isp: str
    region: str
    edge: str
    join_ms: int
    leave_ms: int
    lesson_start: int
    lesson_end: int
    interval_ms: int
    skew_ms: int
    need_kbps: float
    family: Family
    headroom: float
    base_rtt: float
    base_jitter: float
    base_loss: float
    max_fps: float
    actions: list[Action] = field(default_factory=list)
    busy: list[Footprint] = field(default_factory=list)

    @property
    def usable(self) -> tuple[int, int]:
        """Where faults may be placed: settled after joining, well before leaving."""
        return self.join_ms + MINUTE, self.leave_ms - 90_000


@dataclass(slots=True)
class School:
    """All classrooms and sessions of a simulated day."""

    config: SimConfig
    classrooms: list[Classroom]
    sessions: list[SessionPlan]
    edges: tuple[str, ...]

    @property
    def span(self) -> tuple[int, int]:
        """First join to last leave."""
        return min(s.join_ms for s in self.sessions), max(s.leave_ms for s in self.sessions)


def edge_names(config: SimConfig) -> tuple[str, ...]:
    """Media servers: one per region, then shared overflow servers."""
    names = []
    for i in range(config.edges):
        if i < config.regions:
            names.append(f"sfu-{REGIONS[i]}")
        else:
            names.append(f"sfu-shared-{i - config.regions + 1}")
    return tuple(names)


def pick_edge(
    rng: random.Random, region_index: int, config: SimConfig, edges: tuple[str, ...]
) -> str:
    """Mostly the region's own server; some sessions land on an overflow server."""
    if config.edges <= config.regions:
        return edges[region_index % config.edges]
    if rng.random() < PRIMARY_EDGE_SHARE:
        return edges[region_index]
    return edges[rng.randrange(config.regions, config.edges)]


def _weighted(rng: random.Random, pairs: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _family(rng: random.Random, conn: str) -> Family:
    if conn == "cellular":
        return "cooked_3gp"
    if conn == "wired":
        return "fcc_ori_test_traces"
    return "traces_oboe" if rng.random() < 0.7 else "fcc_ori_test_traces"


def _attendance(rng: random.Random, config: SimConfig, start: int, end: int) -> tuple[int, int]:
    join = start + rng.randint(-120_000, 45_000)
    if rng.random() < config.late_join_rate:
        join = start + rng.randint(60_000, 300_000)
    leave = end + rng.randint(0, 40_000)
    if rng.random() < config.early_leave_rate and end - start > 12 * MINUTE:
        leave = rng.randint(join + 6 * MINUTE, end - 3 * MINUTE)
    return join, leave


def build_school(config: SimConfig) -> School:
    """Lay out classrooms and sessions (no faults yet), deterministically from the seed."""
    rng = random.Random(f"{config.seed}:school")
    skew_rng = random.Random(f"{config.seed}:skew")
    edges = edge_names(config)
    regions = REGIONS[: config.regions]
    isps = ISPS[: config.isps]
    isp_weights = ISP_WEIGHTS[: config.isps]
    classrooms: list[Classroom] = []
    sessions: list[SessionPlan] = []
    for c in range(config.classrooms):
        offset = rng.uniform(0, config.start_spread_minutes) * MINUTE
        start = config.start_ms + int(offset // MINUTE) * MINUTE
        minutes = round(rng.uniform(config.lesson_minutes_min, config.lesson_minutes_max))
        room = Classroom(c, f"class-{config.seed}-{c:04d}", start, start + minutes * MINUTE)
        classrooms.append(room)
        for k in range(rng.randint(config.students_min, config.students_max)):
            index = len(sessions)
            device = rng.choices(DEVICES, weights=DEVICE_WEIGHTS)[0]
            conn = _weighted(rng, CONN_BY_DEVICE[device])
            region_index = rng.randrange(len(regions))
            join, leave = _attendance(rng, config, room.start_ms, room.end_ms)
            edge = pick_edge(rng, region_index, config, edges)
            family = _family(rng, conn)
            interval = 1000 if rng.random() < config.one_second_stats_rate else 2000
            skew = skew_rng.randint(-config.mess.max_skew_ms, config.mess.max_skew_ms)
            plan = SessionPlan(
                index=index,
                session_id=f"ses-{config.seed}-{c:04d}-{k}",
                student_id=f"stu-{config.seed}-{index:05d}",
                classroom=c,
                classroom_id=room.classroom_id,
                device=device,
                os=rng.choice(OS_BY_DEVICE[device]),
                app_version=_weighted(rng, APP_VERSIONS),
                conn=conn,
                isp=rng.choices(isps, weights=isp_weights)[0],
                region=regions[region_index],
                edge=edge,
                join_ms=join,
                leave_ms=leave,
                lesson_start=room.start_ms,
                lesson_end=room.end_ms,
                interval_ms=interval,
                skew_ms=skew,
                need_kbps=rng.uniform(*NEED_KBPS[device]),
                family=family,
                headroom=rng.uniform(*HEADROOM[family]),
                base_rtt=rng.uniform(*BASE_RTT[conn]) + (20.0 if "shared" in edge else 0.0),
                base_jitter=rng.uniform(*BASE_JITTER[conn]),
                base_loss=rng.uniform(*BASE_LOSS[conn]),
                max_fps=30.0 if device != "phone" else rng.choice((24.0, 30.0)),
            )
            room.sessions.append(index)
            sessions.append(plan)
    _roll_out_bad_version(config, sessions)
    return School(config, classrooms, sessions, edges)


def _roll_out_bad_version(config: SimConfig, sessions: list[SessionPlan]) -> None:
    """Give the injected release to its share of sessions (own random stream: the rest of
    the day is the same with or without it)."""
    bad = config.injected.bad_app_version
    if not bad:
        return
    rng = random.Random(f"{config.seed}:bad-app")
    for plan in sessions:
        if rng.random() < config.injected.bad_app_share:
            plan.app_version = bad
