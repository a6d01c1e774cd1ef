"""Topic names, group ids and tuning of the streaming workers."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


@dataclass(frozen=True, slots=True)
class Topics:
    """Every topic the workers read or write."""

    telemetry: str = "class.telemetry"
    dlq: str = "class.telemetry.dlq"
    incidents: str = "support.incidents"
    outcomes: str = "support.outcomes"
    findings: str = "firstcall.findings"
    verdicts: str = "firstcall.line-verdicts"
    state: str = "firstcall.worker-state"

    @classmethod
    def from_env(cls, prefix: str = "") -> Topics:
        """Names from FIRSTCALL_TOPIC_* variables, each optionally prefixed (test isolation)."""
        d = cls()
        return cls(
            telemetry=prefix + _env("FIRSTCALL_TOPIC_TELEMETRY", d.telemetry),
            dlq=prefix + _env("FIRSTCALL_TOPIC_DLQ", d.dlq),
            incidents=prefix + _env("FIRSTCALL_TOPIC_INCIDENTS", d.incidents),
            outcomes=prefix + _env("FIRSTCALL_TOPIC_OUTCOMES", d.outcomes),
            findings=prefix + _env("FIRSTCALL_TOPIC_FINDINGS", d.findings),
            verdicts=prefix + _env("FIRSTCALL_TOPIC_VERDICTS", d.verdicts),
            state=prefix + _env("FIRSTCALL_TOPIC_STATE", d.state),
        )

    def prefixed(self, prefix: str) -> Topics:
        """The same topics with `prefix` in front of every name."""
        return Topics(**{k: prefix + getattr(self, k) for k in self.__dataclass_fields__})


@dataclass(frozen=True, slots=True)
class KafkaSettings:
    """Connection, topics, groups and tuning of one worker or correlator process."""

    bootstrap: str = field(
        default_factory=lambda: _env("FIRSTCALL_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    )
    topics: Topics = field(default_factory=Topics)
    worker_group: str = "firstcall-worker"
    correlator_group: str = "firstcall-correlator"
    telemetry_partitions: int = 4
    findings_partitions: int = 4
    max_batch: int = 20_000
    poll_ms: int = 100
    clock: str = "wall"  # "wall" (live) or "event" (replay speed, deterministic)
    retention_ms: int = 24 * 3600 * 1000
    verdict_max_wait_ms: int = 30_000  # wall-clock mode: release held outreach anyway
    client_id: str = "firstcall"
    record_path: str = "lean"  # "lean": aiokafka's decoded records as they are; "stock"
    fetch_handoff: bool = True  # the next fetch overlaps a batch's processing (worker.py)
    gc_threshold: int = 100_000  # young-gen GC threshold (platform/gc_tuning.py); 0: Python's
