"""Broker health of a consumer-group member: a cheap metadata call every 2 s."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from aiokafka.errors import KafkaError


class BrokerWatched(Protocol):
    """A member whose readiness follows the broker (the worker and the correlator)."""

    consumer: Any
    broker_ok: bool
    log: Any
    metrics: Any

    def _set_broker(self, ok: bool) -> None: ...


async def broker_health_loop(member: BrokerWatched, stop: asyncio.Event,
                             every_s: float = 2.0) -> None:
    """Mark the broker up or down until `stop`; one warning line when it goes away."""
    while not stop.is_set():
        try:
            await asyncio.wait_for(member.consumer.topics(), timeout=3)
        except (KafkaError, OSError, TimeoutError) as exc:
            if member.broker_ok:
                member.log.warning("broker_health_check_failed", error=repr(exc))
            member.metrics.broker_errors.labels("health").inc()
            member._set_broker(False)
        else:
            member._set_broker(True)
        await asyncio.sleep(every_s)
