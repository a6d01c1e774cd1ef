"""Create the workers' topics (idempotently), with retention set explicitly."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from monitor.platform.kafka_settings import KafkaSettings

TOPIC_EXISTS = 36


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One topic to create."""

    name: str
    partitions: int
    configs: dict[str, str]


def topic_specs(s: KafkaSettings) -> list[TopicSpec]:
    """All topics of a deployment: inputs, outputs, DLQ, internal repartition and state."""
    keep = {"retention.ms": str(s.retention_ms), "cleanup.policy": "delete"}
    compact = {"retention.ms": "-1", "cleanup.policy": "compact"}
    t = s.topics
    n = s.telemetry_partitions
    return [
        TopicSpec(t.telemetry, n, keep),
        TopicSpec(t.dlq, 1, keep),
        TopicSpec(t.incidents, n, keep),
        TopicSpec(t.outcomes, n, keep),
        TopicSpec(t.findings, s.findings_partitions, keep),
        TopicSpec(t.verdicts, 1, keep),
        TopicSpec(t.state, n, compact),
    ]


async def ensure_topics(bootstrap: str, specs: list[TopicSpec]) -> list[str]:
    """Create missing topics; returns the names created. Existing ones are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [
            NewTopic(sp.name, sp.partitions, 1, topic_configs=dict(sp.configs))
            for sp in specs
            if sp.name not in existing
        ]
        if not new:
            return []
        resp = await admin.create_topics(new)
        created: list[str] = []
        for name, code, message in resp.topic_errors:
            if code == 0:
                created.append(name)
            elif code != TOPIC_EXISTS:
                raise RuntimeError(f"cannot create topic {name}: {code} {message}")
        return created
    finally:
        await admin.close()
