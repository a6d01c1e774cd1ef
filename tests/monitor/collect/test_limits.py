"""Per-session rate: a burst, then the sustained rate, per session, bounded in memory."""

from __future__ import annotations

import math

from monitor.collect.limits import SessionRate


def test_burst_then_rate_then_wait() -> None:
    rate = SessionRate(rate_per_s=10, burst=20, max_sessions=10)
    assert rate.take("a", 20, 0.0) == 0.0
    assert rate.take("a", 5, 0.0) == 0.5  # 5 events at 10/s: wait half a second
    assert rate.take("a", 5, 0.5) == 0.0
    assert rate.take("b", 20, 0.5) == 0.0  # another session has its own bucket
    assert math.isinf(rate.take("c", 21, 0.5))  # more than a burst never fits


def test_refused_requests_take_nothing() -> None:
    rate = SessionRate(rate_per_s=1, burst=4, max_sessions=10)
    assert rate.take("a", 3, 0.0) == 0.0
    assert rate.take("a", 2, 0.0) == 1.0
    assert rate.take("a", 1, 0.0) == 0.0


def test_at_most_max_sessions_are_tracked() -> None:
    rate = SessionRate(rate_per_s=1, burst=1, max_sessions=3)
    for i in range(100):
        rate.take(f"s{i}", 1, 0.0)
    assert len(rate) == 3
