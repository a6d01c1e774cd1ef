"""Configuration of a simulated school day: size, faults and messy delivery."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Final

DEFAULT_START_MS: Final = 1_767_258_000_000  # 2026-01-01 09:00:00 UTC

REGIONS: Final = ("oslo", "bergen", "trondheim", "stavanger")
ISPS: Final = ("fjordnet", "kystlink", "nordfiber", "viddamobil", "polarnett", "bolgenett")
ISP_WEIGHTS: Final = (0.36, 0.28, 0.2, 0.1, 0.04, 0.02)


@dataclass(frozen=True, slots=True)
class FaultRates:
    """How often each fault is injected.

    Session faults are probabilities per session (per lesson); line faults are
    expected counts per line per hour of school time.
    """

    wifi_drop: float = 0.06
    app_crash: float = 0.04
    crash_no_return: float = 0.01
    cellular_fade: float = 0.15
    flapping_wifi: float = 0.03
    blip: float = 0.15
    near_lag: float = 0.02
    marginal_lag: float = 0.01
    ok_at_10s: float = 0.005
    stall_10s: float = 0.005
    chronic_link: float = 0.0  # the family's link fails every 1-3 minutes, all lesson
    lag_then_drop: float = 0.0  # a stutter, then the student drops out of class
    edge_outage_per_edge_hour: float = 0.15
    isp_degradation_per_line_hour: float = 0.06

    def scaled(self, factor: float) -> FaultRates:
        """All rates multiplied by `factor` (probabilities capped at 1)."""
        values = {name: getattr(self, name) * factor for name in FAULT_FIELDS}
        for name in SESSION_FAULTS:
            values[name] = min(1.0, values[name])
        return replace(self, **values)


SESSION_FAULTS: Final = (
    "wifi_drop",
    "app_crash",
    "crash_no_return",
    "cellular_fade",
    "flapping_wifi",
    "blip",
    "near_lag",
    "marginal_lag",
    "ok_at_10s",
    "stall_10s",
    "chronic_link",
    "lag_then_drop",
)
FAULT_FIELDS: Final = (
    *SESSION_FAULTS,
    "edge_outage_per_edge_hour",
    "isp_degradation_per_line_hour",
)
NO_FAULTS: Final = FaultRates(**dict.fromkeys(FAULT_FIELDS, 0.0))


@dataclass(frozen=True, slots=True)
class Injected:
    """Known bad things planted in a day, so a digest can be checked for naming them."""

    bad_app_version: str = ""  # a release given to `bad_app_share` of the sessions
    bad_app_share: float = 0.25
    bad_app_crash: float = 0.9  # app_crash probability per session on that release
    bad_edge: str = ""  # an edge (e.g. sfu-bergen) that has `bad_edge_outages` extra outages
    bad_edge_outages: int = 2


NOTHING_INJECTED: Final = Injected()


@dataclass(frozen=True, slots=True)
class MessConfig:
    """Messy delivery: what a Kafka consumer really sees."""

    duplicate_rate: float = 0.01
    reorder_rate: float = 0.05
    max_lateness_ms: int = 3000
    max_skew_ms: int = 2000
    drop_stats_rate: float = 0.01

    @property
    def enabled(self) -> bool:
        """True if any kind of mess is on."""
        return bool(
            self.duplicate_rate
            or (self.reorder_rate and self.max_lateness_ms)
            or self.max_skew_ms
            or self.drop_stats_rate
        )


CLEAN_DELIVERY: Final = MessConfig(0.0, 0.0, 0, 0, 0.0)


@dataclass(frozen=True, slots=True)
class SimConfig:
    """One simulated school day."""

    seed: int = 1
    classrooms: int = 10
    students_min: int = 3
    students_max: int = 8
    lesson_minutes_min: float = 25.0
    lesson_minutes_max: float = 40.0
    start_ms: int = DEFAULT_START_MS
    start_spread_minutes: float = 10.0
    regions: int = 2
    isps: int = 4
    edges: int = 3
    faults: FaultRates = field(default_factory=FaultRates)
    mess: MessConfig = field(default_factory=MessConfig)
    camera_off_rate: float = 0.3
    late_join_rate: float = 0.08
    early_leave_rate: float = 0.04
    one_second_stats_rate: float = 0.03
    link_degradation: bool = True
    injected: Injected = NOTHING_INJECTED

    def __post_init__(self) -> None:
        if self.classrooms < 1:
            raise ValueError("classrooms must be >= 1")
        if not 1 <= self.students_min <= self.students_max <= 8:
            raise ValueError("need 1 <= students_min <= students_max <= 8")
        if not 5.0 <= self.lesson_minutes_min <= self.lesson_minutes_max:
            raise ValueError("need 5 <= lesson_minutes_min <= lesson_minutes_max")
        if not 1 <= self.regions <= len(REGIONS):
            raise ValueError(f"regions must be 1..{len(REGIONS)}")
        if not 1 <= self.isps <= len(ISPS):
            raise ValueError(f"isps must be 1..{len(ISPS)}")
        if self.edges < 1:
            raise ValueError("edges must be >= 1")
        if not 0.0 <= self.injected.bad_app_share <= 1.0:
            raise ValueError("bad_app_share must be in 0..1")
        if self.mess.max_lateness_ms < 0 or self.mess.max_skew_ms < 0:
            raise ValueError("lateness and skew bounds must be >= 0")
