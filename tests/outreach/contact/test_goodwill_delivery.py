"""The scheduling webhook: signed, retried with backoff, and delivered once per family even
when the sender stops and starts again (the outbox in the case database remembers)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.channels.goodwill_hook import SchedulingHook, sign, verify
from outreach.channels.retry import RetryPolicy
from outreach.contact.goodwill import GoodwillMetrics, HookDispatcher
from outreach.store.cases import CaseStore
from outreach.store.goodwill import GoodwillStore
from tests.support.casedb import case_engine  # noqa: F401
from tests.support.goodwill_receiver import (
    KEY,
    Receiver,
    confirmed_families,
    school_rows,
    start_receiver,
)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found, runner = await start_receiver(KEY)
    yield found
    await runner.cleanup()


def sender(url: str, sleeps: list[float] | None = None, key: bytes = KEY) -> SchedulingHook:
    async def sleep(s: float) -> None:
        (sleeps if sleeps is not None else []).append(s)

    return SchedulingHook(url, key, policy=RetryPolicy(max_attempts=3, base_s=0.5, cap_s=4),
                          sleep=sleep, rng=lambda: 1.0, timeout_s=5)


def test_the_signature_is_an_hmac_of_timestamp_and_body() -> None:
    body = b'{"case_id":"c1"}'
    header = sign(KEY, 1_700_000_000, body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify(KEY, "1700000000", body, header, 1_700_000_100)
    assert not verify(KEY, "1700000000", body + b" ", header, 1_700_000_100)  # body changed
    assert not verify(b"other", "1700000000", body, header, 1_700_000_100)
    assert not verify(KEY, "1700000000", body, header, 1_700_001_000)  # too old
    with pytest.raises(ValueError):
        SchedulingHook("http://127.0.0.1:1/x", b"")


async def test_each_family_is_delivered_once_across_a_restart(
        case_engine: AsyncEngine, receiver: Receiver) -> None:  # noqa: F811
    ids = await confirmed_families(case_engine, ["stu-1", "stu-2"])
    first = HookDispatcher(GoodwillStore(case_engine), sender(receiver.url),
                           GoodwillMetrics.create())
    assert await first.deliver_pending() == 2
    restarted = HookDispatcher(GoodwillStore(case_engine), sender(receiver.url),
                               GoodwillMetrics.create())  # a new process on the same database
    assert await restarted.deliver_pending() == 0
    assert receiver.accepted == {ids[0]: 1, ids[1]: 1}
    assert receiver.bad_signatures == 0
    body = receiver.bodies[ids[0]]
    assert (body["type"], body["kind"], body["student_id"], body["case_id"]) == (
        "goodwill.confirmed", "makeup", "stu-1", ids[0])
    timeline = await CaseStore(case_engine).timeline(ids[0])
    assert [e.kind for e in timeline].count("goodwill_delivered") == 1


async def test_a_sender_that_stops_before_the_school_answers_delivers_after_restart(
        case_engine: AsyncEngine, receiver: Receiver) -> None:  # noqa: F811
    [cid] = await confirmed_families(case_engine, ["stu-1"])
    down = HookDispatcher(GoodwillStore(case_engine), sender("http://127.0.0.1:9/schedule"),
                          GoodwillMetrics.create())  # nothing listens there
    assert await down.deliver_pending() == 0
    pending = await school_rows(case_engine)
    assert [(p.message_id, p.deliveries) for p in pending] == [(cid, 1)]
    restarted = HookDispatcher(GoodwillStore(case_engine), sender(receiver.url),
                               GoodwillMetrics.create())
    assert await restarted.deliver_pending() == 1
    assert await restarted.deliver_pending() == 0
    assert receiver.accepted == {cid: 1}
    kinds = [e.kind for e in await CaseStore(case_engine).timeline(cid)]
    assert kinds.count("goodwill_delivery_failed") == 1 and kinds.count("goodwill_delivered") == 1


async def test_busy_answers_are_retried_with_growing_backoff(
        case_engine: AsyncEngine, receiver: Receiver) -> None:  # noqa: F811
    [cid] = await confirmed_families(case_engine, ["stu-1"])
    receiver.fail_next = [503, 429]
    sleeps: list[float] = []
    metrics = GoodwillMetrics.create()
    dispatcher = HookDispatcher(GoodwillStore(case_engine), sender(receiver.url, sleeps), metrics)
    assert await dispatcher.deliver_pending() == 1
    assert sleeps == [0.5, 1.0]  # base * 2**n, full jitter at its ceiling (rng = 1)
    assert receiver.accepted == {cid: 1} and receiver.requests == 3
    assert metrics.deliveries.labels("accepted")._value.get() == 1


async def test_a_wrong_key_is_refused_once_and_not_sent_again(
        case_engine: AsyncEngine, receiver: Receiver) -> None:  # noqa: F811
    [cid] = await confirmed_families(case_engine, ["stu-1"])
    metrics = GoodwillMetrics.create()
    dispatcher = HookDispatcher(GoodwillStore(case_engine),
                                sender(receiver.url, key=b"wrong"), metrics)
    assert await dispatcher.deliver_pending() == 0
    assert await dispatcher.deliver_pending() == 0
    assert receiver.bad_signatures == 1 and not receiver.accepted
    assert metrics.deliveries.labels("refused")._value.get() == 1
    failed = [e for e in await CaseStore(case_engine).timeline(cid)
              if e.kind == "goodwill_delivery_failed"]
    assert [e.data["reason"] for e in failed] == ["refused_http_401"]
