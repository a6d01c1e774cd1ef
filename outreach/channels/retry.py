"""Retry policy (pure): which failures to retry, backoff with full jitter, and Retry-After."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """At most `max_attempts` tries; waits grow as base * 2**n up to `cap_s`, fully jittered.

    A throttled answer (429) is tried again, waiting at least its `Retry-After`, for as
    long as the waits add up to no more than `budget_s` (and at most `max_throttled` tries).
    """

    max_attempts: int = 4
    base_s: float = 0.5
    cap_s: float = 8.0
    budget_s: float = 30.0
    max_throttled: int = 20

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed try number `attempt` (1-based): uniform in [0, ceiling)."""
        ceiling = min(self.cap_s, self.base_s * 2.0 ** max(0, attempt - 1))
        return ceiling * rng()


def retryable_status(status: int) -> bool:
    """429 and 5xx are worth another try; any other 4xx will fail the same way again."""
    return status == 429 or status >= 500


def retry_after_s(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a `Retry-After` header asks for (delta-seconds or an HTTP date); None: none/bad."""
    if not value or len(value) > 64:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if now is None or when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())
