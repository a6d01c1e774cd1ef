"""Prometheus metrics of the streaming workers, on an injected registry."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
BATCH_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 50000)


@dataclass(frozen=True, slots=True)
class Metrics:
    """Every metric a worker or correlator exports."""

    registry: CollectorRegistry
    events: Counter
    bad_records: Counter
    incidents: Counter
    outreach: Counter
    decision_latency: Histogram
    batch_size: Histogram
    consumer_lag: Gauge
    rebalances: Counter
    broker_errors: Counter
    ready: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> Metrics:
        """Register the metrics on `registry` (a fresh one if None)."""
        reg = registry if registry is not None else CollectorRegistry(auto_describe=True)
        return cls(
            registry=reg,
            events=Counter(
                "firstcall_events", "Telemetry events decoded, by type.", ["type"], registry=reg
            ),
            bad_records=Counter(
                "firstcall_bad_records",
                "Malformed telemetry records sent to the DLQ, by reason.",
                ["reason"],
                registry=reg,
            ),
            incidents=Counter(
                "firstcall_incidents",
                "Incident records produced, by kind and state.",
                ["kind", "state"],
                registry=reg,
            ),
            outreach=Counter(
                "firstcall_outreach_decisions",
                "Outreach decisions produced, by action.",
                ["action"],
                registry=reg,
            ),
            decision_latency=Histogram(
                "firstcall_decision_latency_seconds",
                "Time from the deciding event (event time or arrival) to the broker's ack.",
                ["since"],
                buckets=LATENCY_BUCKETS,
                registry=reg,
            ),
            batch_size=Histogram(
                "firstcall_batch_size",
                "Records per consumed batch.",
                buckets=BATCH_BUCKETS,
                registry=reg,
            ),
            consumer_lag=Gauge(
                "firstcall_consumer_lag",
                "Records behind the end of the partition.",
                ["topic", "partition"],
                registry=reg,
            ),
            rebalances=Counter(
                "firstcall_rebalances",
                "Consumer group rebalances seen, by what happened.",
                ["event"],
                registry=reg,
            ),
            broker_errors=Counter(
                "firstcall_broker_errors",
                "Broker operations that failed and were retried, by operation.",
                ["op"],
                registry=reg,
            ),
            ready=Gauge("firstcall_ready", "1 when the worker is ready.", registry=reg),
        )
