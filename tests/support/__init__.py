"""Test helpers: builders, fakes of the channels, servers (Kafka broker, PostgreSQL), browser."""
