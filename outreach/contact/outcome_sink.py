"""Where case outcomes go: a sink the running system provides (Kafka, the in-process bus)."""

from __future__ import annotations

from typing import Protocol

import orjson

from outreach.decide.outcomes import OutcomeRecord


class OutcomeSink(Protocol):
    """Publishes one closed case's outcome (at least once; consumers dedup by case_id)."""

    async def publish(self, record: OutcomeRecord) -> None:
        """Send the record; return once it is safely handed over."""
        ...


def outcome_bytes(record: OutcomeRecord) -> tuple[bytes, bytes]:
    """The message key and JSON value of an outcome record."""
    return record.key.encode(), orjson.dumps(record.to_dict())
