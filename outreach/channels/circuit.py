"""A circuit breaker (pure, injected clock): stop hammering a provider that keeps failing."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Opens after `failure_threshold` failures in a row; after `reset_after_s`, one trial.

    A success in the trial closes it again; a failure opens it for another `reset_after_s`.
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_after_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or reset_after_s <= 0:
            raise ValueError("failure_threshold >= 1 and reset_after_s > 0 required")
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self.clock = clock
        self.failures = 0
        self._opened_at: float | None = None
        self._trial_out = False

    @property
    def state(self) -> BreakerState:
        """closed (normal), open (refusing), or half_open (one trial allowed)."""
        if self._opened_at is None:
            return "closed"
        if self.clock() - self._opened_at >= self.reset_after_s:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """May a request go out now? (In half_open, only one at a time.)"""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._trial_out:
            self._trial_out = True
            return True
        return False

    def record_success(self) -> None:
        """The provider answered well: close the circuit."""
        self.failures = 0
        self._opened_at = None
        self._trial_out = False

    def record_failure(self) -> None:
        """The provider failed (5xx, 429, timeout): count it, open when over the threshold."""
        self.failures += 1
        self._trial_out = False
        if self._opened_at is not None or self.failures >= self.failure_threshold:
            self._opened_at = self.clock()
