"""Prometheus metrics of the collector, on an injected registry."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from monitor.platform.metrics import LATENCY_BUCKETS


@dataclass(frozen=True, slots=True)
class CollectMetrics:
    """Every metric `firstcall collect` exports."""

    registry: CollectorRegistry
    requests: Counter
    events: Counter
    rejected: Counter
    buffered: Gauge
    ack_seconds: Histogram
    broker_errors: Counter
    ready: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> CollectMetrics:
        """Register the metrics on `registry` (a fresh one if None)."""
        reg = registry if registry is not None else CollectorRegistry(auto_describe=True)
        return cls(
            registry=reg,
            requests=Counter("firstcall_collect_requests", "Ingest requests and websocket "
                             "messages, by transport and answer.", ["transport", "status"],
                             registry=reg),
            events=Counter("firstcall_collect_events", "Events acknowledged by the broker, "
                           "by type.", ["type"], registry=reg),
            rejected=Counter("firstcall_collect_rejected", "Events or requests refused, by "
                             "reason.", ["reason"], registry=reg),
            buffered=Gauge("firstcall_collect_buffered", "Records waiting for the broker's ack.",
                           registry=reg),
            ack_seconds=Histogram("firstcall_collect_ack_seconds", "Time from a request's "
                                  "arrival to the broker's ack of its records.",
                                  buckets=LATENCY_BUCKETS, registry=reg),
            broker_errors=Counter("firstcall_collect_broker_errors", "Failed broker operations "
                                  "(retried).", registry=reg),
            ready=Gauge("firstcall_collect_ready", "1 while the broker is reachable.",
                        registry=reg),
        )
