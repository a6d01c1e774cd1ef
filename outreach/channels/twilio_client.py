"""The real `twilio.rest.Client` on aiohttp, with a configurable API base URL and retries.

Seam: twilio-python builds every URL from its domain's base (`https://api.twilio.com`,
rewritten for `edge`/`region` by `ClientBase.get_hostname`) and hands it to the client's
`http_client`. `BaseUrlHttpClient` (a subclass of the library's own
`AsyncTwilioHttpClient`) rewrites that host to `api_base_url`, so a regional edge, a
proxy or the local stand-in can be used without touching the generated resources.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import aiohttp
import structlog
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from outreach.channels.base import OutboundMessage, ProviderStatus, SendResult
from outreach.channels.circuit import CircuitBreaker
from outreach.channels.retry import RetryPolicy, retry_after_s, retryable_status
from outreach.decide.redact import mask_phone

TWILIO_API: Final = "https://api.twilio.com"
log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class TwilioSettings:
    """Account, caller id, where the API is, and where Twilio should call us back."""

    account_sid: str
    auth_token: str = field(repr=False)  # a secret: never in a repr or a log line
    from_number: str
    api_base_url: str = TWILIO_API
    edge: str | None = None
    region: str | None = None
    status_callback_url: str | None = None
    gather_action_url: str | None = None
    request_timeout_s: float = 10.0
    ring_timeout_s: int = 30
    # Answering-machine detection on calls to families: a voicemail is not an answer.
    machine_detection: bool = True
    # Where Twilio posts a waiting caller's end of wait (and a dial to an agent's outcome).
    queue_action_url: str | None = None
    queue_max_wait_s: int = 120  # a caller waiting for a technician, then a call back ...
    call_back_within_min: int = 15  # ... promised within this
    # The SharedKey secret of HMAC-SHA256 webhook signatures that name a key (a secret).
    webhook_key: str = field(default="", repr=False)
    # Longest total wait for retries (a 429's Retry-After is honoured within it).
    retry_budget_s: float = 30.0


def rebase(url: str, base_url: str) -> str:
    """`https://api[.edge.region].twilio.com/x` -> `<base_url>/x`; other URLs unchanged."""
    if base_url.rstrip("/") == TWILIO_API:
        return url
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if not (host == "api.twilio.com" or (host.startswith("api.") and host.endswith(".twilio.com"))):
        return url
    rest = urllib.parse.urlunsplit(("", "", parts.path, parts.query, parts.fragment))
    return base_url.rstrip("/") + rest


def with_query(url: str, params: Mapping[str, str]) -> str:
    """`url` with `params` added to its query string."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


class Throttled(TwilioRestException):  # type: ignore[misc]
    """A 429 from Twilio, with the seconds its `Retry-After` asked for (None: not said)."""

    def __init__(self, uri: str, method: str, text: str, retry_after: float | None) -> None:
        try:
            body = json.loads(text)
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        super().__init__(429, uri, str(body.get("message", "Too Many Requests"))[:200],
                         body.get("code"), method)
        self.retry_after = retry_after


class BaseUrlHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """twilio's aiohttp client, sending API requests to `base_url` with a default timeout."""

    def __init__(self, base_url: str = TWILIO_API, timeout: float = 10.0) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Send the request to the configured base URL; a 429 raises `Throttled`."""
        if auth is not None:  # as a header: aiohttp deprecates BasicAuth objects
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers = {**(headers or {}), "Authorization": f"Basic {token}"}
        response: Response = await super().request(
            method,
            rebase(url, self.base_url),
            params=params,
            data=data,
            headers=headers,
            auth=None,
            timeout=timeout if timeout is not None else self.timeout,
            allow_redirects=allow_redirects,
        )
        if response.status_code == 429:  # the library drops headers: keep Retry-After here
            header = (response.headers or {}).get("Retry-After")
            wait = retry_after_s(header, datetime.now(UTC))
            raise Throttled(url, method, response.text, wait)
        return response


def make_client(settings: TwilioSettings) -> Client:
    """A real `twilio.rest.Client` on aiohttp (call inside a running event loop)."""
    http = BaseUrlHttpClient(settings.api_base_url, settings.request_timeout_s)
    return Client(
        settings.account_sid,
        settings.auth_token,
        http_client=http,
        edge=settings.edge,
        region=settings.region,
    )


def epoch_ms(when: datetime | None) -> int | None:
    """A twilio datetime as epoch milliseconds (None stays None)."""
    return None if when is None else int(when.timestamp() * 1000)


def result_of(status: str | None, sid: str | None, attempts: int) -> SendResult:
    """A SendResult from the status Twilio gave a new call or message."""
    if status in ("failed", "canceled", "undelivered", "busy", "no-answer"):
        return SendResult(
            "failed", retryable=False, provider_id=sid, reason=status or "", attempts=attempts
        )
    if status in ("delivered", "read", "completed"):
        return SendResult("delivered", provider_id=sid, reason=status or "", attempts=attempts)
    return SendResult("queued", provider_id=sid, reason=status or "", attempts=attempts)


# What a create that failed may still have made (None: nothing; raises: cannot tell).
Lookup = Callable[[Client], Awaitable[Any | None]]


class TwilioSender:
    """Runs one create request with retries (429/5xx/network), backoff with jitter, and a breaker.

    `retry_unknown` says whether to retry when the outcome is unknown (a timeout or a
    dropped connection after the request went out): fine for SMS, but a second phone
    call to a grandparent is worse than falling back to another channel.
    """

    def __init__(
        self,
        settings: TwilioSettings,
        *,
        policy: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        retry_unknown: bool = True,
    ) -> None:
        self.settings = settings
        self.policy = policy or RetryPolicy(budget_s=settings.retry_budget_s)
        self.breaker = breaker or CircuitBreaker()
        self.sleep = sleep
        self.rng = rng
        self.retry_unknown = retry_unknown
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        """The twilio Client (made on first use, inside the event loop)."""
        if self._client is None:
            self._client = make_client(self.settings)
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP session."""
        if self._client is not None:
            await self._client.http_client.close()
            self._client = None

    async def _look(self, lookup: Lookup, attempt: int, logger: Any) -> SendResult | None:
        """After a 5xx: the resource the failed create made anyway, else None (safe to retry)."""
        try:
            found = await lookup(self.client)
        except Exception as exc:  # any failure: we cannot know, so we do not repeat
            logger.warning("twilio_outcome_unknown", reason="lookup_failed", error=repr(exc)[:200])
            return SendResult("failed", retryable=False, reason="outcome_unknown", attempts=attempt)
        if found is None:
            return None
        result = result_of(getattr(found, "status", None), getattr(found, "sid", None), attempt)
        logger.info("twilio_found_after_error", provider_id=result.provider_id, attempt=attempt)
        return result

    async def run(
        self,
        op: Callable[[Client], Awaitable[Any]],
        logger: Any = log,
        lookup: Lookup | None = None,
    ) -> SendResult:
        """Run `op(client)` (a `create_async`) until success, a final failure or no tries left.

        Other failures get `max_attempts` tries; 429s are retried, waiting at least their
        Retry-After, while the waits stay within the policy's budget. With `lookup`, a 5xx
        is followed by a lookup of what the create may have made anyway, before any retry.
        """
        attempt = failures = 0
        waited = 0.0
        reason = ""
        while True:
            if not self.breaker.allow():
                logger.warning("twilio_circuit_open", attempts=attempt)
                return SendResult("failed", retryable=True, reason="circuit_open", attempts=attempt)
            attempt += 1
            asked: float | None = None
            try:
                instance = await op(self.client)
            except Throttled as exc:
                reason, asked = "http_429", exc.retry_after
            except TwilioRestException as exc:
                status = int(exc.status)
                reason = f"http_{status}"
                if not retryable_status(status):
                    self.breaker.record_success()  # the provider is up; our request was wrong
                    logger.warning("twilio_rejected", status=status, code=exc.code, attempt=attempt)
                    return SendResult(
                        "failed", retryable=False, reason=f"{reason}:{exc.code}", attempts=attempt
                    )
            except aiohttp.ClientConnectorError:
                reason = "connect_error"
            except (TimeoutError, aiohttp.ClientError) as exc:
                reason = "timeout" if isinstance(exc, TimeoutError) else "connection_lost"
                if not self.retry_unknown:
                    self.breaker.record_failure()
                    logger.warning("twilio_outcome_unknown", reason=reason, attempt=attempt)
                    return SendResult("failed", retryable=False, reason=reason, attempts=attempt)
            else:
                self.breaker.record_success()
                result = result_of(
                    getattr(instance, "status", None), getattr(instance, "sid", None), attempt
                )
                logger.info(
                    "twilio_sent",
                    provider_id=result.provider_id,
                    status=result.reason,
                    attempt=attempt,
                )
                return result
            throttled = reason == "http_429"
            if throttled:
                self.breaker.record_success()  # up, but asking us to slow down
            else:
                failures += 1
                self.breaker.record_failure()
            logger.warning("twilio_retryable_failure", reason=reason, attempt=attempt,
                           retry_after=asked)  # fmt: skip
            delay = self.policy.delay(attempt, self.rng)
            if asked is not None:
                delay = max(delay, asked)
            out_of_tries = (attempt >= self.policy.max_throttled if throttled
                            else failures >= self.policy.max_attempts)  # fmt: skip
            look = lookup is not None and reason.startswith("http_5")
            give_up = out_of_tries or waited + delay > self.policy.budget_s
            if not give_up:
                await self.sleep(delay)
                waited += delay
            if look and lookup is not None and (found := await self._look(lookup, attempt, logger)):
                return found
            if give_up:
                return SendResult("failed", retryable=True, reason=reason, attempts=attempt)


class TwilioChannelBase:
    """What the Twilio voice and SMS channels share: masked logs, no-number check, send."""

    name: str

    def __init__(self, settings: TwilioSettings, sender: TwilioSender) -> None:
        self.settings = settings
        self.sender = sender

    def create_params(self, message: OutboundMessage) -> dict[str, Any]:
        """Arguments for the resource's `create_async`."""
        raise NotImplementedError

    async def _create(self, client: Client, params: dict[str, Any]) -> Any:
        raise NotImplementedError

    def lookup(self, params: dict[str, Any]) -> Lookup | None:
        """How to find what a failed create made anyway (None: the create is safe to repeat)."""
        return None

    async def _fetch(self, client: Client, sid: str) -> Any:
        raise NotImplementedError

    def status_of(self, found: Any) -> ProviderStatus:
        """The fetched resource in the words of its status callback."""
        raise NotImplementedError

    async def status(self, provider_id: str) -> ProviderStatus | None:
        """`GET .../{Calls|Messages}/{Sid}.json` once; None when it fails (never raises)."""
        logger = log.bind(provider_id=provider_id, channel=self.name)
        try:
            found = await self._fetch(self.sender.client, provider_id)
        except Exception as exc:  # a look-up that fails leaves the wait as it was
            logger.warning("twilio_status_lookup_failed", error=repr(exc)[:200])
            return None
        return self.status_of(found)

    async def send(self, message: OutboundMessage) -> SendResult:
        """Hand the message to Twilio; `queued` with its SID when Twilio accepted it."""
        logger = log.bind(
            case_id=message.case_id, message_id=message.message_id, to=mask_phone(message.to),
            channel=self.name,
        )
        if not message.to:
            return SendResult("failed", reason="no_phone_number")
        params = self.create_params(message)

        async def create(client: Client) -> Any:
            return await self._create(client, params)

        return await self.sender.run(create, logger, self.lookup(params))

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self.sender.aclose()
