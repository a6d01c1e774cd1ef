"""Pure contact rules: decisions, stages, policy, family gate, fallback, outcomes.

No module here imports I/O (databases, HTTP, Twilio, websockets, Kafka).
"""
