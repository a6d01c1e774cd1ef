"""The sink: acked once the broker has it; buffered while it is away; full is refused."""

from __future__ import annotations

import asyncio

from monitor.collect.sink import Record, Sink
from monitor.streaming.backoff import Backoff
from tests.support.collect_fakes import FakeProducer


def records(*values: str) -> list[Record]:
    return [Record("t", b"k", v.encode()) for v in values]


async def test_acked_after_the_broker_has_every_record() -> None:
    producer = FakeProducer()
    sink = Sink(producer, capacity=10)
    await sink.start()
    assert await sink.submit(records("a", "b"), timeout_s=1) == "acked"
    assert producer.values("t") == [b"a", b"b"]
    assert sink.buffered == 0 and sink.connected
    await sink.stop()


async def test_broker_down_buffers_times_out_and_delivers_later_in_order() -> None:
    producer = FakeProducer(up=False)
    errors: list[BaseException] = []
    sink = Sink(producer, capacity=3, backoff=Backoff(base=0.01, cap=0.02),
                on_error=errors.append)
    await sink.start()
    assert await sink.submit(records("a", "b"), timeout_s=0.1) == "timeout"
    assert await sink.submit(records("c", "d"), timeout_s=0.1) == "full"  # 2 + 2 > 3
    assert sink.buffered == 2 and not sink.connected and errors
    producer.up = True
    assert await sink.submit(records("c"), timeout_s=2) == "acked"
    assert producer.values("t") == [b"a", b"b", b"c"]  # the timed-out ones were not lost
    assert sink.buffered == 0
    await sink.stop()


async def test_a_failed_send_is_sent_again() -> None:
    producer = FakeProducer()
    sink = Sink(producer, capacity=10, backoff=Backoff(base=0.01, cap=0.02))
    await sink.start()
    assert await sink.submit(records("a"), timeout_s=1) == "acked"
    producer.up = False
    waiting = asyncio.create_task(sink.submit(records("b"), timeout_s=5))
    await asyncio.sleep(0.1)
    assert producer.sends_failed >= 1 and not waiting.done()
    producer.up = True
    assert await waiting == "acked"
    assert producer.values("t") == [b"a", b"b"]
    await sink.stop()
