"""Trace-driven school simulator: telemetry of live classes, injected faults, ground truth."""

from monitor.simulate.config import (
    CLEAN_DELIVERY,
    NO_FAULTS,
    FaultRates,
    Injected,
    MessConfig,
    SimConfig,
)
from monitor.simulate.live import feed_live
from monitor.simulate.run import SimResult, iter_delivered, iter_lines, simulate

__all__ = [
    "CLEAN_DELIVERY",
    "NO_FAULTS",
    "FaultRates",
    "Injected",
    "MessConfig",
    "SimConfig",
    "SimResult",
    "feed_live",
    "iter_delivered",
    "iter_lines",
    "simulate",
]
