"""Paging infrastructure: POST a JSON object to a configurable webhook URL, with retries.

429, 5xx and connection failures are retried with exponential backoff and full
jitter (`outreach.channels.retry`); other answers are final. Every request carries an
`Idempotency-Key` so a receiver can drop a page it already has.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import structlog

from outreach.channels.retry import RetryPolicy, retryable_status

log = structlog.get_logger(__name__)
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PageResult:
    """What became of a page: `ok`, the last HTTP status (0: no answer), tries, reason."""

    ok: bool
    status: int
    attempts: int
    reason: str = ""


class WebhookPager:
    """Sends pages to one URL (Alertmanager-style generic webhook receivers)."""

    def __init__(
        self,
        url: str,
        *,
        policy: RetryPolicy | None = None,
        timeout_s: float = 5.0,
        headers: Mapping[str, str] | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.url = url
        self.policy = policy or RetryPolicy()
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.headers = dict(headers or {})
        self.sleep = sleep
        self.rng = rng

    async def page(self, key: str, payload: Mapping[str, Any]) -> PageResult:
        """POST `payload` as JSON until accepted (2xx), a final refusal, or no tries left."""
        logger = log.bind(page_key=key)
        headers = {**self.headers, "Idempotency-Key": key}
        status, reason, attempt = 0, "", 0
        async with aiohttp.ClientSession(timeout=self.timeout) as session:
            while attempt < self.policy.max_attempts:
                attempt += 1
                try:
                    async with session.post(self.url, json=dict(payload), headers=headers) as resp:
                        status = resp.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status, reason = 0, type(exc).__name__
                else:
                    if 200 <= status < 300:
                        logger.info("page_sent", status=status, attempt=attempt)
                        return PageResult(True, status, attempt)
                    reason = f"http_{status}"
                    if not retryable_status(status):
                        logger.warning("page_refused", status=status, attempt=attempt)
                        return PageResult(False, status, attempt, reason)
                logger.warning("page_retryable_failure", reason=reason, attempt=attempt)
                if attempt < self.policy.max_attempts:
                    await self.sleep(self.policy.delay(attempt, self.rng))
        return PageResult(False, status, attempt, reason)
