"""The worker lets aiokafka send the next fetch before it processes a batch, so they overlap."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from monitor.streaming.topics import TopicSpec, ensure_topics
from monitor.streaming.worker import hand_off_to_fetcher
from tests.support.kafka_helpers import isolated_settings, produce

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(60)]


def _fetch_in_flight(consumer: AIOKafkaConsumer) -> bool:
    return bool(consumer._fetcher._in_flight)  # aiokafka's own record of sent fetches


async def _drained_consumer(bootstrap: str) -> AIOKafkaConsumer:
    """A consumer that has just taken every buffered record of its partition."""
    topic = isolated_settings(bootstrap).topics.telemetry
    one_partition = TopicSpec(topic, 1, {"retention.ms": "3600000"})  # one fetch at a time
    await ensure_topics(bootstrap, [one_partition])
    await produce(bootstrap, topic, ((b"s1", b'{"n":%d}' % i) for i in range(500)))
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=2_000
    )
    await consumer.start()
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    await consumer.seek_to_beginning(tp)
    got = 0
    while got < 500:
        got += sum(len(rs) for rs in (await consumer.getmany(tp, timeout_ms=2_000)).values())
    return consumer


async def test_without_the_hand_off_the_next_fetch_waits_for_the_batch(
    kafka_broker: Any,
) -> None:
    consumer = await _drained_consumer(kafka_broker.bootstrap)
    try:
        assert not _fetch_in_flight(consumer), "nothing is asked until the loop runs"
        await hand_off_to_fetcher(passes=0)
        assert not _fetch_in_flight(consumer)
    finally:
        await consumer.stop()


async def test_the_hand_off_sends_the_next_fetch_before_processing_starts(
    kafka_broker: Any,
) -> None:
    consumer = await _drained_consumer(kafka_broker.bootstrap)
    try:
        await hand_off_to_fetcher()
        assert _fetch_in_flight(consumer), "the broker works on the next fetch meanwhile"
    finally:
        await consumer.stop()
