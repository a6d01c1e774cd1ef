"""Topic names, group ids and tuning a streaming job is handed, built from the settings.

Nothing here reads the environment or has a value of its own: each default is the one of
its setting in [kafka] / [topics] (monitor/platform/settings_sections.py), so
``KafkaSettings()`` is what an empty configuration gives; the jobs build theirs with
:meth:`KafkaSettings.from_sections`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from monitor.platform.settings import (
    KAFKA_CLIENT_ID,
    TOPIC_RETENTION_MS,
    VERDICT_MAX_WAIT_MS,
    KafkaSection,
    TopicsSection,
)

_KAFKA = KafkaSection.defaults()
_TOPICS = TopicsSection.defaults()


@dataclass(frozen=True, slots=True)
class Topics:
    """Every topic the workers read or write."""

    telemetry: str = _TOPICS.telemetry
    dlq: str = _TOPICS.dlq
    incidents: str = _TOPICS.incidents
    outcomes: str = _TOPICS.outcomes
    findings: str = _TOPICS.findings
    verdicts: str = _TOPICS.verdicts
    state: str = _TOPICS.state

    @classmethod
    def from_section(cls, section: TopicsSection, prefix: str = "") -> Topics:
        """The names of [topics], each with `prefix` in front ([kafka] topic_prefix)."""
        return cls(**{f.name: prefix + getattr(section, f.name) for f in fields(cls)})

    def prefixed(self, prefix: str) -> Topics:
        """The same topics with `prefix` in front of every name."""
        return Topics(**{f.name: prefix + getattr(self, f.name) for f in fields(self)})


@dataclass(frozen=True, slots=True)
class KafkaSettings:
    """Connection, topics, groups and tuning of one worker or correlator process."""

    bootstrap: str = _KAFKA.bootstrap
    topics: Topics = field(default_factory=Topics)
    worker_group: str = _KAFKA.worker_group
    correlator_group: str = _KAFKA.correlator_group
    telemetry_partitions: int = _KAFKA.telemetry_partitions
    findings_partitions: int = _KAFKA.findings_partitions
    max_batch: int = _KAFKA.max_batch
    poll_ms: int = _KAFKA.poll_ms
    clock: str = _KAFKA.clock  # "wall" (live) or "event" (replay speed, deterministic)
    retention_ms: int = TOPIC_RETENTION_MS
    verdict_max_wait_ms: int = VERDICT_MAX_WAIT_MS  # wall clock: release held outreach anyway
    client_id: str = KAFKA_CLIENT_ID
    record_path: str = _KAFKA.record_path  # "lean": aiokafka's decoded records as they are
    fetch_handoff: bool = _KAFKA.fetch_handoff  # next fetch overlaps a batch (worker.py)
    gc_threshold: int = _KAFKA.gc_threshold  # young-gen GC threshold (platform/gc_tuning.py)

    @classmethod
    def from_sections(cls, kafka: KafkaSection, topics: TopicsSection, uses: Iterable[str] = (),
                      **flags: Any) -> KafkaSettings:
        """[kafka] bootstrap, clock, the settings in `uses`, prefixed topics; flags over them."""
        # A job names in `uses` the settings it takes: the others keep their defaults, and a
        # deployment need not set what the job does not read. A flag of None is not given.
        given = {k: v for k, v in flags.items() if v is not None}
        prefix = given.pop("topic_prefix", kafka.topic_prefix)
        values = {name: getattr(kafka, name) for name in ("bootstrap", "clock", *uses)}
        return cls(**{**values, "topics": Topics.from_section(topics, prefix), **given})
