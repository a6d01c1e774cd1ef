"""Feeding the live runner from a topic: record parsing, and the in-process bus."""

from __future__ import annotations

from typing import Protocol

import orjson

from detectors.records import Incident, Outreach, decode_record
from monitor.streaming.bus import InProcessBus
from outreach.contact.outcome_sink import outcome_bytes
from outreach.decide.outcomes import OutcomeRecord


class RecordHandler(Protocol):
    """Anything that takes incident and outreach records (the live runner)."""

    async def handle(self, record: Incident | Outreach) -> None:
        """Take one record."""
        ...


def parse_record(raw: bytes) -> Incident | Outreach | None:
    """An incident or outreach record from JSON (None for anything else, e.g. outcomes)."""
    try:
        kind = orjson.loads(raw).get("record")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return decode_record(raw) if kind in ("incident", "outreach") else None


async def run_bus(
    runner: RecordHandler, bus: InProcessBus, topic: str, group: str = "outreach"
) -> None:
    """Feed the runner from a topic of the in-process bus until the topic closes."""
    async for batch in bus.batches(topic, group):
        for message in batch:
            record = parse_record(message.value)
            if record is not None:
                await runner.handle(record)


class BusOutcomeSink:
    """Outcomes on a topic of the in-process bus (the demo)."""

    def __init__(self, bus: InProcessBus, topic: str) -> None:
        self.bus = bus
        self.topic = topic

    async def publish(self, record: OutcomeRecord) -> None:
        """Append the record to the topic."""
        key, value = outcome_bytes(record)
        await self.bus.publish(self.topic, key, value)


class ListOutcomeSink:
    """Outcomes kept in a list (a desk or demo without a bus, and tests)."""

    def __init__(self) -> None:
        self.records: list[OutcomeRecord] = []

    async def publish(self, record: OutcomeRecord) -> None:
        """Keep the record."""
        self.records.append(record)
