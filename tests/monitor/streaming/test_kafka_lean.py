"""The lean record path gives the worker exactly what stock aiokafka gives, minus the objects."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.consumer import fetcher
from aiokafka.errors import CorruptRecordException
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.record.util import calc_crc32c_py
from aiokafka.structs import ConsumerRecord

from monitor.streaming import lean
from tests.support.kafka_helpers import create_topics, isolated_settings, produce

TP = TopicPartition("class.telemetry", 0)
ROWS: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]] = [
    (b"s1", b'{"v":1}', []),
    (b"s2", b"\x00binary\xff", [("trace", b"abc"), ("retry", b"1")]),
    (None, b"no key", []),
    (b"tombstone", None, []),
]


def _batch(base_offset: int, rows: list[Any]) -> bytes:
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=0, is_transactional=0, producer_id=-1,
        producer_epoch=-1, base_sequence=-1, batch_size=1 << 20,
    )  # fmt: skip
    for i, (key, value, headers) in enumerate(rows):
        builder.append(i, timestamp=1_795_000_000_000 + i, key=key, value=value, headers=headers)
    raw = bytes(builder.build())
    return struct.pack(">q", base_offset) + raw[8:]


def _control(batch: bytes) -> bytes:
    """The same batch marked as a control batch (attributes bit 5), with its CRC redone."""
    raw = bytearray(batch)
    attributes = struct.unpack_from(">h", raw, 21)[0] | 0x20
    struct.pack_into(">h", raw, 21, attributes)
    struct.pack_into(">I", raw, 17, calc_crc32c_py(raw[21:]))
    return bytes(raw)


def _corrupt(batch: bytes) -> bytes:
    raw = bytearray(batch)
    raw[-1] ^= 0xFF
    return bytes(raw)


def _fields(r: Any) -> tuple[Any, ...]:
    return (r.offset, r.timestamp, r.key, r.value, list(r.headers))


def _records(
    data: bytes, fetch_offset: int, value_deserializer: Any, isolation: int = 0
) -> Any:
    return fetcher.PartitionRecords(
        TP, MemoryRecords(data), [], fetch_offset, None, value_deserializer, True, isolation
    )


def _read(data: bytes, fetch_offset: int, value_deserializer: Any, isolation: int = 0) -> list[Any]:
    return list(_records(data, fetch_offset, value_deserializer, isolation))


def test_the_installed_aiokafka_is_the_verified_one() -> None:
    assert lean.install() is True
    assert lean.installed()


def test_opted_in_consumers_get_the_same_fields_without_consumer_records() -> None:
    lean.install()
    data = _batch(0, ROWS) + _batch(len(ROWS), ROWS)
    stock = _read(data, 0, None)
    slim = _read(data, 0, lean.lean_values)
    assert [_fields(r) for r in slim] == [_fields(r) for r in stock]
    assert len(slim) == 2 * len(ROWS)
    assert all(type(r) is ConsumerRecord for r in stock)
    assert not any(isinstance(r, ConsumerRecord) for r in slim)


def test_records_before_the_fetch_offset_are_skipped_as_stock_does() -> None:
    lean.install()
    data = _batch(10, ROWS)
    assert [r.offset for r in _read(data, 12, lean.lean_values)] == [12, 13]
    assert [r.offset for r in _read(data, 12, None)] == [12, 13]


def test_control_batches_are_skipped_and_the_position_moves_past_them() -> None:
    lean.install()
    data = _batch(0, ROWS) + _control(_batch(4, ROWS[:1])) + _batch(5, ROWS)
    for deserializer in (None, lean.lean_values):
        records = _records(data, 0, deserializer)
        assert [r.offset for r in records] == [0, 1, 2, 3, 5, 6, 7, 8]
        assert records.next_fetch_offset == 9


def test_a_batch_with_a_bad_crc_is_refused_as_stock_refuses_it() -> None:
    lean.install()
    data = _batch(0, ROWS) + _corrupt(_batch(4, ROWS))
    for deserializer in (None, lean.lean_values):
        with pytest.raises(CorruptRecordException):
            _read(data, 0, deserializer)


def test_a_partial_read_leaves_the_position_where_stock_leaves_it() -> None:
    lean.install()
    data = _batch(0, ROWS) + _batch(4, ROWS)
    positions = []
    for deserializer in (None, lean.lean_values):
        records = _records(data, 0, deserializer)
        taken = []
        for r in records:  # as aiokafka's FetchResult.getall(max_records=5) does
            taken.append(r.offset)
            if len(taken) >= 5:
                break
        positions.append((taken, records.next_fetch_offset))
        assert [r.offset for r in records] == [5, 6, 7], "the next getmany resumes there"
    assert positions[0] == positions[1] == ([0, 1, 2, 3, 4], 5)


def test_read_committed_consumers_keep_the_stock_loop_and_still_get_lean_records() -> None:
    lean.install()
    data = _batch(0, ROWS)
    stock = _read(data, 0, None, isolation=1)
    slim = _read(data, 0, lean.lean_values, isolation=1)
    assert [_fields(r) for r in slim] == [_fields(r) for r in stock]
    assert not any(isinstance(r, ConsumerRecord) for r in slim)


def test_other_consumers_keep_their_deserializer_and_consumer_records() -> None:
    lean.install()
    rows = [(b"k", b"abc", [])]

    def upper(v: bytes | None) -> bytes | None:
        return v.upper() if v else v

    (rec,) = _read(_batch(0, rows), 0, upper)
    assert type(rec) is ConsumerRecord
    assert rec.value == b"ABC"
    assert rec.topic == TP.topic and rec.partition == 0


def test_an_aiokafka_that_differs_is_not_patched() -> None:
    class Renamed:
        def __init__(self, tp: Any, records: Any, value_deserializer: Any) -> None:
            self.value_deserializer = value_deserializer  # not `_value_deserializer`

        def _consumer_record(self, tp: Any, record: Any) -> Any:
            return record

    class OtherSignature:
        def __init__(self, value_deserializer: Any) -> None:
            self._value_deserializer = value_deserializer

        def _consumer_record(self, record: Any) -> Any:
            return record

    class NoPosition(lean_like()):  # type: ignore[misc]
        def __init__(self, tp: Any, records: Any, value_deserializer: Any) -> None:
            self._tp, self._records, self._value_deserializer = tp, records, value_deserializer
            self._check_crcs = self._isolation_level = self._records_iterator = None

    assert not lean._looks_verified(Renamed, Renamed._consumer_record)
    assert not lean._looks_verified(OtherSignature, OtherSignature._consumer_record)
    assert not lean._looks_verified(NoPosition, NoPosition._consumer_record)
    stock = fetcher.PartitionRecords.__mro__[-2]  # the class the lean one derives from
    assert lean._looks_verified(stock, stock._consumer_record)


def lean_like() -> type:
    """A class shaped like aiokafka's PartitionRecords, for the version check."""

    class Shaped:
        def _consumer_record(self, tp: Any, record: Any) -> Any:
            return record

        def _unpack_records(self) -> Any:
            yield from ()

    return Shaped


def test_without_the_lean_path_the_marker_is_an_identity_deserializer() -> None:
    assert lean.lean_values(b"x") == b"x"
    assert lean.lean_values(None) is None


@pytest.mark.kafka
@pytest.mark.timeout(60)
async def test_from_a_real_broker_lean_and_stock_consumers_read_the_same(
    kafka_bootstrap: str,
) -> None:
    lean.install()
    s = isolated_settings(kafka_bootstrap)
    await create_topics(s)
    rows = [(f"s{i % 7}".encode(), f'{{"n":{i}}}'.encode()) for i in range(500)]
    await produce(kafka_bootstrap, s.topics.telemetry, rows)

    async def read(value_deserializer: Any) -> list[tuple[Any, ...]]:
        extra = {"value_deserializer": value_deserializer} if value_deserializer else {}
        consumer = AIOKafkaConsumer(
            bootstrap_servers=kafka_bootstrap, enable_auto_commit=False,
            auto_offset_reset="earliest", **extra,
        )  # fmt: skip
        await consumer.start()
        try:
            parts = sorted(consumer.partitions_for_topic(s.topics.telemetry) or ())
            tps = [TopicPartition(s.topics.telemetry, p) for p in parts]
            consumer.assign(tps)
            got: list[tuple[Any, ...]] = []
            while len(got) < len(rows):
                batch = await consumer.getmany(timeout_ms=1000)
                for tp, records in batch.items():
                    got.extend((tp.partition, *_fields(r)) for r in records)
            return sorted(got)
        finally:
            await consumer.stop()

    stock = await read(None)
    slim = await read(lean.lean_values)
    assert slim == stock
    assert sorted(v for *_, v, _h in slim) == sorted(v for _k, v in rows)
