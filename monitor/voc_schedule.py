"""The weekly digest in `firstcall serve`: when it is due, and the loop that sends it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.platform.settings import ConfigError, DigestSection, Problem
from monitor.voc_delivery import DeliveryError, deliver, problems
from outreach.store.voc import digest_for

log = structlog.get_logger(__name__)
WEEK_MS: Final = 7 * 86_400_000
DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Sleep = Callable[[float], Awaitable[None]]


def next_weekly(now_ms: int, spec: str) -> int:
    """The first time after `now_ms` that matches `spec` (`mon 07:00`, UTC), in epoch ms."""
    day, hhmm = spec.split()
    hour, minute = (int(x) for x in hhmm.split(":"))
    now = datetime.fromtimestamp(now_ms / 1000, UTC)
    at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    at += timedelta(days=(DAYS.index(day) - now.weekday()) % 7)
    if at.timestamp() * 1000 <= now_ms:
        at += timedelta(days=7)
    return int(at.timestamp() * 1000)


async def weekly_digest(engine: AsyncEngine, settings: DigestSection,
                        clock: Callable[[], int], sleep: Sleep = asyncio.sleep,
                        runs: int | None = None) -> None:
    """At each `weekly_at`, send the digest of the 7 days before it (forever, or `runs` times).

    A failed delivery is logged and the next week comes as usual.
    """
    done = 0
    while runs is None or done < runs:
        due = next_weekly(clock(), settings.weekly_at)
        while (wait := due - clock()) > 0:
            await sleep(min(wait / 1000, 3600.0))
        try:
            digest = await digest_for(engine, due - WEEK_MS, due)
            for line in await deliver(digest, settings, due // 1000):
                log.info("voc_digest_sent", due=due, how=line)
        except DeliveryError as exc:
            log.warning("voc_digest_not_sent", due=due, error=str(exc))
        except Exception:  # the database, say: try again next week, keep the desk up
            log.exception("voc_digest_failed", due=due)
        done += 1


@dataclass(frozen=True, slots=True)
class WeeklyDigest:
    """The weekly digest `firstcall serve` sends: when (`weekly_at`) and how ([digest])."""

    settings: DigestSection

    @classmethod
    def from_settings(cls, settings: DigestSection) -> WeeklyDigest | None:
        """None when `weekly_at` is empty; ConfigError when there is nowhere to send."""
        if not settings.weekly_at:
            return None
        if missing := problems(settings):
            raise ConfigError([Problem("digest.weekly_at", m) for m in missing])
        return cls(settings)

    async def run(self, engine: AsyncEngine, clock: Callable[[], int],
                  sleep: Sleep = asyncio.sleep, runs: int | None = None) -> None:
        """Send every week (see `weekly_digest`)."""
        await weekly_digest(engine, self.settings, clock, sleep, runs)
