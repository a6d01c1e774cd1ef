"""The school's scheduling system: a signed JSON webhook per confirmed goodwill offer.

Signed as the digest's webhook is: `X-FirstCall-Signature: sha256=<hex HMAC-SHA256(key,
"<timestamp>." + body)>` with `X-FirstCall-Timestamp`, and `Idempotency-Key: <case id>`.
429, 5xx and no answer are tried again with backoff (`outreach.channels.retry`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
import orjson
import structlog

from outreach.channels.retry import RetryPolicy, retryable_status
from outreach.channels.webhook import PageResult

log = structlog.get_logger(__name__)
SIGNATURE_HEADER: Final = "X-FirstCall-Signature"
TIMESTAMP_HEADER: Final = "X-FirstCall-Timestamp"
Sleep = Callable[[float], Awaitable[None]]


def sign(key: bytes, timestamp: int, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp` (epoch seconds)."""
    mac = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(key: bytes, timestamp: str, body: bytes, signature: str, now_s: int,
           max_age_s: int = 300) -> bool:
    """Does `signature` sign `body` at `timestamp`, no older than `max_age_s`? (for receivers)"""
    if not timestamp.isdigit() or abs(now_s - int(timestamp)) > max_age_s:
        return False
    return hmac.compare_digest(sign(key, int(timestamp), body), signature)


@dataclass(frozen=True, slots=True)
class HookSettings:
    """Where and how the scheduling webhook is sent (settings `[goodwill]`)."""

    url: str
    key: bytes
    timeout_s: float = 10.0
    max_attempts: int = 4
    every_s: float = 30.0


class SchedulingHook:
    """POSTs confirmed offers to one URL, signed, until accepted or out of tries."""

    def __init__(
        self,
        url: str,
        key: bytes,
        *,
        policy: RetryPolicy | None = None,
        timeout_s: float = 10.0,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        now_s: Callable[[], int] = lambda: int(time.time()),
    ) -> None:
        if not key:
            raise ValueError("the scheduling webhook needs a signing key")
        self.url, self.key = url, key
        self.policy = policy or RetryPolicy()
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.sleep, self.rng, self.now_s = sleep, rng, now_s

    @classmethod
    def from_settings(cls, hs: HookSettings) -> SchedulingHook:
        """The hook of the settings."""
        return cls(hs.url, hs.key, policy=RetryPolicy(max_attempts=hs.max_attempts),
                   timeout_s=hs.timeout_s)

    async def post(self, key: str, payload: Mapping[str, Any]) -> PageResult:
        """Send one offer; 2xx is accepted, 429/5xx/no answer tried again, other 4xx final."""
        body = orjson.dumps(dict(payload), option=orjson.OPT_SORT_KEYS)
        status, reason, attempt = 0, "", 0
        async with aiohttp.ClientSession(timeout=self.timeout) as session:
            while attempt < self.policy.max_attempts:
                attempt += 1
                ts = self.now_s()
                headers = {"Content-Type": "application/json", "Idempotency-Key": key,
                           TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: sign(self.key, ts, body)}
                try:
                    async with session.post(self.url, data=body, headers=headers) as resp:
                        status = resp.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status, reason = 0, type(exc).__name__
                else:
                    if 200 <= status < 300:
                        return PageResult(True, status, attempt)
                    reason = f"http_{status}"
                    if not retryable_status(status):
                        return PageResult(False, status, attempt, reason)
                log.warning("goodwill_hook_retry", case_id=key, reason=reason, attempt=attempt)
                if attempt < self.policy.max_attempts:
                    await self.sleep(self.policy.delay(attempt, self.rng))
        return PageResult(False, status, attempt, reason)
