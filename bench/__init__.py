"""Benchmarks: replay throughput, memory per session, detection delay, Kafka rates."""
