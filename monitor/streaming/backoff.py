"""Retry with capped exponential backoff and jitter, for broker outages."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class Backoff:
    """Delays 0.1 s, 0.2 s, ... up to `cap` seconds, with +-20 % jitter."""

    base: float = 0.1
    cap: float = 5.0
    attempt: int = 0

    def next_delay(self) -> float:
        """The delay before the next attempt (and count the attempt)."""
        delay = min(self.cap, self.base * (2**self.attempt))
        self.attempt += 1
        return float(delay * random.uniform(0.8, 1.2))

    def reset(self) -> None:
        """Back to the shortest delay after a success."""
        self.attempt = 0


async def retry_forever(
    op: Callable[[], Awaitable[T]],
    *,
    retry_on: tuple[type[BaseException], ...],
    on_error: Callable[[BaseException, int, float], None],
    on_success: Callable[[], None] = lambda: None,
    backoff: Backoff | None = None,
) -> T:
    """Run `op` until it succeeds, sleeping with backoff after each listed error."""
    b = backoff or Backoff()
    while True:
        try:
            result = await op()
        except retry_on as exc:
            delay = b.next_delay()
            on_error(exc, b.attempt, delay)
            await asyncio.sleep(delay)
        else:
            on_success()
            return result
