"""Where case outcomes go: the `support.outcomes` topic (in-process bus or Kafka) or a list."""

from __future__ import annotations

from typing import Final, Protocol

import orjson

from monitor.bus import InProcessBus
from outreach.cases.outcomes import OutcomeRecord

OUTCOMES_TOPIC: Final = "support.outcomes"


class OutcomeSink(Protocol):
    """Publishes one closed case's outcome (at least once; consumers dedup by case_id)."""

    async def publish(self, record: OutcomeRecord) -> None:
        """Send the record; return once it is safely handed over."""
        ...


def outcome_bytes(record: OutcomeRecord) -> tuple[bytes, bytes]:
    """The message key and JSON value of an outcome record."""
    return record.key.encode(), orjson.dumps(record.to_dict())


class BusOutcomeSink:
    """Outcomes on a topic of the in-process bus (demo, tests)."""

    def __init__(self, bus: InProcessBus, topic: str = OUTCOMES_TOPIC) -> None:
        self.bus = bus
        self.topic = topic

    async def publish(self, record: OutcomeRecord) -> None:
        """Append the record to the topic."""
        key, value = outcome_bytes(record)
        await self.bus.publish(self.topic, key, value)


class ListOutcomeSink:
    """Outcomes kept in a list (tests)."""

    def __init__(self) -> None:
        self.records: list[OutcomeRecord] = []

    async def publish(self, record: OutcomeRecord) -> None:
        """Keep the record."""
        self.records.append(record)
