"""The lean record path: fetched records without aiokafka's per-record `ConsumerRecord`.

aiokafka decodes a fetched record batch in Cython (cheap), then builds a
`ConsumerRecord` dataclass of eleven fields for every record in Python: about
1 us per record, more than half of what a bare `getmany` costs. The worker
reads three fields of each record (offset, timestamp, value), so a consumer
may opt in to receiving aiokafka's own decoded record objects instead
(`DefaultRecord`/`LegacyRecord`: `.offset`, `.timestamp`, `.key`, `.value`,
`.headers`).

The opt-in is the value deserializer `lean_values`: an identity function. With
the lean path installed, a consumer created with it gets the decoded records
as they are; every other consumer in the process is untouched. Without it (an
aiokafka whose fetcher does not look as verified here), `lean_values` is a plain
identity deserializer and the consumer gets ordinary `ConsumerRecord`s, which
carry the same fields: correct either way, only slower.

What stays aiokafka's: fetch sessions, the Cython batch decoding, position
tracking and, for consumers that read committed transactions only, the whole
stock record loop. For opted-in read-uncommitted consumers (the worker) the
record loop is the stock one minus the transaction bookkeeping that only
applies under read-committed: CRC check per batch, control batches skipped,
records before the fetch position skipped (compaction, compressed sets), the
position advanced per record so a partial `getmany(max_records=...)` resumes
exactly where it stopped. tests/monitor/streaming/test_kafka_lean.py holds it to the stock loop.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any, Final

from monitor.platform.logging import get_logger

VERIFIED_PARAMS: Final = ("self", "tp", "record")
# What the lean loop reads of aiokafka's PartitionRecords (all set in its __init__).
ATTRIBUTES: Final = frozenset({
    "_tp", "_records", "_value_deserializer", "_check_crcs", "_isolation_level",
    "_records_iterator", "next_fetch_offset",
})  # fmt: skip


def lean_values(value: bytes | None) -> bytes | None:
    """Identity value deserializer that marks a consumer as wanting lean records."""
    return value


_installed = False


def install() -> bool:
    """Make consumers that use `lean_values` receive aiokafka's decoded records directly.

    Returns False (and logs why) when aiokafka's fetcher is not the one this was
    verified against; consumers then keep getting `ConsumerRecord`s.
    """
    global _installed
    if _installed:
        return True
    try:
        from aiokafka.consumer import fetcher
    except ImportError:  # pragma: no cover - aiokafka is a dependency
        return False
    stock: Any = getattr(fetcher, "PartitionRecords", None)
    method = getattr(stock, "_consumer_record", None)
    known = getattr(fetcher, "READ_UNCOMMITTED", None) == 0 and hasattr(fetcher, "Errors")
    if stock is None or method is None or not known or not _looks_verified(stock, method):
        get_logger("kafka").warning(
            "lean_record_path_unavailable",
            reason="aiokafka's PartitionRecords differs from the verified one",
        )
        return False

    uncommitted = fetcher.READ_UNCOMMITTED
    corrupt = fetcher.Errors.CorruptRecordException

    class LeanPartitionRecords(stock):  # type: ignore[misc, valid-type]
        """aiokafka's PartitionRecords; opted-in consumers get the decoded record itself."""

        def _unpack_records(self) -> Iterator[Any]:
            if self._value_deserializer is not lean_values:
                return super()._unpack_records()  # type: ignore[no-any-return]
            if self._isolation_level != uncommitted:
                return super()._unpack_records()  # type: ignore[no-any-return]
            return self._lean_records()

        def _consumer_record(self, tp: Any, record: Any) -> Any:
            if self._value_deserializer is lean_values:
                return record  # read-committed consumers that opted in
            return super()._consumer_record(tp, record)

        def __iter__(self) -> Any:
            # The fetch result iterates the generator itself: one Python call less per record.
            it = self._records_iterator
            if it is not None and self._value_deserializer is lean_values:
                return it
            return self

        def _lean_records(self) -> Iterator[Any]:
            records = self._records
            check_crcs = self._check_crcs
            while records.has_next():
                batch = records.next_batch()
                if check_crcs and not batch.validate_crc():
                    raise corrupt(f"Invalid CRC - {self._tp}")
                if batch.is_control_batch:
                    self.next_fetch_offset = batch.next_offset
                    continue
                for record in batch:
                    offset = record.offset
                    if offset < self.next_fetch_offset:
                        continue  # before the fetch position: compaction or a compressed set
                    self.next_fetch_offset = offset + 1
                    yield record
                self.next_fetch_offset = batch.next_offset

    fetcher.PartitionRecords = LeanPartitionRecords
    _installed = True
    return True


def installed() -> bool:
    """True once `install()` has succeeded in this process."""
    return _installed


def _looks_verified(stock: Any, method: Any) -> bool:
    params = tuple(inspect.signature(method).parameters)
    if params != VERIFIED_PARAMS:
        return False
    unpack = getattr(stock, "_unpack_records", None)
    if unpack is None or not inspect.isgeneratorfunction(unpack):
        return False
    if tuple(inspect.signature(unpack).parameters) != ("self",):
        return False
    init = stock.__init__
    assigned = set(init.__code__.co_names)
    return "value_deserializer" in inspect.signature(init).parameters and assigned >= ATTRIBUTES
