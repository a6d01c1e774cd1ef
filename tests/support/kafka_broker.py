"""The tansu test broker (shared with the Kafka benchmark)."""

from bench.kafka_broker import TansuBroker, find_tansu, free_port

__all__ = ["TansuBroker", "find_tansu", "free_port"]
