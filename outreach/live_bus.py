"""Feeding the live runner from a topic: record parsing, and the in-process bus."""

from __future__ import annotations

from typing import Protocol

import orjson

from monitor.bus import InProcessBus
from monitor.records import Incident, Outreach, decode_record


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
