"""Kafka streaming: telemetry worker, line correlator, DLQ, state, outreach adapters."""
