"""Kafka streaming workers: telemetry worker, line correlator, DLQ, state, probes."""
