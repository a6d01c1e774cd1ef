"""Prometheus metrics of the support desk (queue, time to first contact, suppressions)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

CONTACT_BUCKETS = (5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 300.0, 600.0)


@dataclass(frozen=True, slots=True)
class DeskMetrics:
    """Every metric the desk (`firstcall serve`) exports on /metrics."""

    registry: CollectorRegistry
    queue_depth: Gauge
    queue_held: Gauge
    queue_oldest_wait: Gauge
    queue_breached: Gauge
    agents_online: Gauge
    first_contact: Histogram
    suppressed: Counter
    resolved: Counter
    claims: Counter
    waiting_callers: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> DeskMetrics:
        """Register the metrics on `registry` (a fresh one if None)."""
        reg = registry if registry is not None else CollectorRegistry(auto_describe=True)
        return cls(
            registry=reg,
            queue_depth=Gauge("firstcall_queue_depth", "Cases waiting for an agent, unclaimed.",
                              registry=reg),
            queue_held=Gauge("firstcall_queue_held", "Queued cases an agent holds.",
                             registry=reg),
            queue_oldest_wait=Gauge("firstcall_queue_oldest_wait_seconds",
                                    "Wait of the longest-waiting unclaimed case.", registry=reg),
            queue_breached=Gauge("firstcall_queue_breached",
                                 "Unclaimed cases past the service level.", registry=reg),
            agents_online=Gauge("firstcall_agents_online", "Agents with a console open.",
                                registry=reg),
            first_contact=Histogram("firstcall_first_contact_seconds",
                                    "Time from the problem's start to the first contact.",
                                    buckets=CONTACT_BUCKETS, registry=reg),
            suppressed=Counter("firstcall_calls_suppressed",
                               "Contacts not made, by reason.", ["reason"], registry=reg),
            resolved=Counter("firstcall_cases_resolved",
                             "Cases closed by the desk, by outcome.", ["outcome"], registry=reg),
            claims=Counter("firstcall_claims", "Claim attempts, by result (won, conflict).",
                           ["result"], registry=reg),
            waiting_callers=Counter("firstcall_waiting_callers",
                                    "Claims of a case, by what became of its caller waiting "
                                    "on the phone (connected, no_agent_phone, ...).",
                                    ["result"], registry=reg),
        )
