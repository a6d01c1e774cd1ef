"""The collector's batched producer on the real test broker: where, in what order, with what."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from monitor.collect.kafka_batches import BatchedProducer
from monitor.collect.sink import BatchProducer, Record, Sink
from tests.support.kafka_helpers import collect, create_topics, isolated_settings


async def test_records_land_on_the_keys_partition_in_order_with_headers(
        kafka_bootstrap: str) -> None:
    s = isolated_settings(kafka_bootstrap)
    await create_topics(s)
    topic, dlq = s.topics.telemetry, s.topics.dlq
    plain = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    batched = BatchedProducer(AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all"))
    assert isinstance(batched, BatchProducer)
    await plain.start()
    sink = Sink(batched, capacity=10_000)
    await sink.start()
    try:
        # Where aiokafka's own send puts each key: the batched producer must agree.
        expected = {key: (await (await plain.send(topic, b"{}", key=key))).partition
                    for key in (b"sess-a", b"sess-b", b"sess-c")}
        big = b'{"pad": "' + b"x" * 40_000 + b'"}'  # above one batch (16 KiB)
        records = [Record(topic, key, f'{{"n": {i}}}'.encode())
                   for i in range(600) for key in (b"sess-a", b"sess-b", b"sess-c")]
        records.insert(300, Record(topic, b"sess-a", big))
        records.append(Record(dlq, b"sess-a", b"not json", (("reason", b"not_json"),)))
        assert await sink.submit(records, timeout_s=30) == "acked"
    finally:
        await sink.stop()
        await plain.stop()
    got = [r for r in await collect(kafka_bootstrap, topic, until=3 + len(records) - 1)
           if r.value != b"{}"]
    assert len(got) == len(records) - 1
    for key, partition in expected.items():
        mine = [r for r in got if r.key == key]
        assert {r.partition for r in mine} == {partition}
        assert [r.value for r in mine] == [r.value for r in records if r.key == key and
                                           r.topic == topic]
    [dead] = await collect(kafka_bootstrap, dlq, until=1)
    assert (dead.value, list(dead.headers)) == (b"not json", [("reason", b"not_json")])
