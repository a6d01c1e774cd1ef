"""Events per session per second: token buckets on an injected clock, bounded in number."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class SessionRate:
    """A token bucket per session: `rate_per_s` sustained, `burst` at once.

    At most `max_sessions` buckets are kept; the least recently used is forgotten
    (it comes back full, so forgetting errs on the side of the family's app).
    """

    def __init__(self, rate_per_s: float, burst: int, max_sessions: int) -> None:
        self.rate = rate_per_s
        self.burst = float(burst)
        self.max_sessions = max_sessions
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, session_id: str, n: int, now_s: float) -> float:
        """Take `n` events; 0.0 when allowed, else the seconds to wait (nothing taken)."""
        b = self._buckets.get(session_id)
        if b is None:
            b = _Bucket(self.burst, now_s)
            self._buckets[session_id] = b
            if len(self._buckets) > self.max_sessions:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(session_id)
            b.tokens = min(self.burst, b.tokens + max(0.0, now_s - b.at) * self.rate)
            b.at = now_s
        if n <= b.tokens:
            b.tokens -= n
            return 0.0
        if n > self.burst:
            return math.inf
        return (n - b.tokens) / self.rate

    def __len__(self) -> int:
        return len(self._buckets)
