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

Everything else stays aiokafka's: fetch sessions, CRC checks, control batches,
aborted transactions, compaction gaps and position tracking all run before a
record reaches the overridden method.
"""

from __future__ import annotations

import inspect
from typing import Any, Final

from monitor.logging import get_logger

VERIFIED_PARAMS: Final = ("self", "tp", "record")


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
    if stock is None or method is None or not _looks_verified(stock, method):
        get_logger("kafka").warning(
            "lean_record_path_unavailable",
            reason="aiokafka's PartitionRecords differs from the verified one",
        )
        return False

    class LeanPartitionRecords(stock):  # type: ignore[misc, valid-type]
        """aiokafka's PartitionRecords; opted-in consumers get the decoded record itself."""

        def _consumer_record(self, tp: Any, record: Any) -> Any:
            if self._value_deserializer is lean_values:
                return record
            return super()._consumer_record(tp, record)

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
    init = stock.__init__
    return (
        "value_deserializer" in inspect.signature(init).parameters
        and "_value_deserializer" in init.__code__.co_names
    )
