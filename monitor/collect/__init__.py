"""The telemetry collector: session tokens, limits, the buffered Kafka sink, the HTTP app."""
