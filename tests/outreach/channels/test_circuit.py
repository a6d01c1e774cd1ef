"""Circuit breaker and backoff (pure, injected clock and randomness)."""

from __future__ import annotations

import pytest

from outreach.channels.circuit import CircuitBreaker
from outreach.channels.retry import RetryPolicy, retryable_status
from tests.support.channel_fakes import FakeChannel, FakeClock


def test_opens_after_threshold_and_half_opens_after_reset() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=3, reset_after_s=10, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_failure()
    assert str(breaker.state) == "open" and not breaker.allow()
    clock.advance(9.9)
    assert not breaker.allow()
    clock.advance(0.1)
    assert breaker.state == "half_open"
    assert breaker.allow() and not breaker.allow()  # one trial at a time
    breaker.record_failure()  # the trial failed: open for another 10 s
    assert breaker.state == "open"
    clock.advance(10)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed" and breaker.failures == 0


def test_success_resets_the_count() -> None:
    breaker = CircuitBreaker(failure_threshold=2, clock=FakeClock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state == "closed"


def test_bad_configuration() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failure_threshold=0)


def test_backoff_doubles_to_a_cap_with_full_jitter() -> None:
    policy = RetryPolicy(max_attempts=6, base_s=0.5, cap_s=4.0)
    assert [policy.delay(n, lambda: 1.0) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert policy.delay(3, lambda: 0.25) == 0.5
    assert policy.delay(1, lambda: 0.0) == 0.0


def test_which_statuses_are_retried() -> None:
    assert [s for s in (400, 401, 404, 409, 429, 500, 502, 503) if retryable_status(s)] == [
        429,
        500,
        502,
        503,
    ]


async def test_fake_channel_records_and_scripts_failures() -> None:
    from outreach.channels import Channel, OutboundMessage

    fake = FakeChannel("sms")
    assert isinstance(fake, Channel)
    fake.fail_next(1)
    msg = OutboundMessage("m1", "case-1", "stu-1", "sms", "lag", to="+8613812345678")
    first, second = await fake.send(msg), await fake.send(msg)
    assert (first.status, first.retryable) == ("failed", True)
    assert second.status == "delivered" and fake.sent == [msg, msg]
