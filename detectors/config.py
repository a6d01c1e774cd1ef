"""Every detection threshold, with the contract's defaults (docs/contracts/telemetry.md)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True, slots=True)
class DetectionConfig:
    """Thresholds of the detectors; all times in milliseconds of event time."""

    # Lag: `lag_min_degraded` of the last `lag_window` stats intervals degraded.
    lag_window: int = 5
    lag_min_degraded: int = 3
    freeze_share: float = 0.30
    audio_stall_share: float = 0.20
    min_fps: float = 7.0
    max_loss_pct: float = 10.0
    max_rtt_ms: float = 500.0
    # Disconnect: silence, or a reconnect sequence without ok.
    silence_ms: int = 10_000
    reconnect_timeout_ms: int = 10_000
    # How long past the reconnect timeout to wait for a late `ok` before deciding.
    reconnect_grace_ms: int = 3_000
    # Flapping: `flap_drops` drops within `flap_window_ms`.
    flap_drops: int = 3
    flap_window_ms: int = 300_000
    # Line incidents.
    line_window_ms: int = 60_000
    line_min_sessions: int = 5
    line_min_share: float = 0.30
    line_min_classrooms: int = 2
    line_rejoin_ms: int = 60_000
    # An ISP+region line incident with this share of its sessions on one edge names that
    # edge (`related_to`); when the edge is down too it is attached there (0: never).
    line_related_share: float = 0.8
    # A line incident's `update`s: at most one per interval (sessions added since the last),
    # each naming at most this many sessions (more: another update at once).
    line_update_interval_ms: int = 2_000
    line_update_max_sessions: int = 500
    # Messy streams and state lifetime.
    lateness_ms: int = 5_000
    # Event time is believed only this far ahead of / behind the arrival (or reading) clock.
    max_ahead_ms: int = 60_000
    max_behind_ms: int = 3_600_000
    session_ttl_ms: int = 30 * 60_000
    left_ttl_ms: int = 60_000

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of all settings."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DetectionConfig:
        """Build from a dict, refusing unknown keys."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown detection settings: {', '.join(unknown)}")
        return cls(**values)
