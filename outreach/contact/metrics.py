"""Prometheus metrics of the live outreach runner, on an injected registry."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge


@dataclass(frozen=True, slots=True)
class OutreachMetrics:
    """Every metric `firstcall outreach` exports (names listed in docs for the dashboard)."""

    registry: CollectorRegistry
    decisions: Counter
    suppressions: Counter
    attempts: Counter
    fallbacks: Counter
    outcomes: Counter
    minutes_lost: Counter
    pages: Counter
    line_incidents: Counter
    duplicates: Counter
    sms_replies: Counter
    waiting: Gauge
    waits: Counter
    batches: Counter
    lookups: Counter
    notices_waiting: Gauge
    put_aside: Counter
    backlog: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> OutreachMetrics:
        """Register the metrics on `registry` (a fresh one if None)."""
        reg = registry if registry is not None else CollectorRegistry(auto_describe=True)
        return cls(
            registry=reg,
            decisions=Counter(
                "firstcall_outreach_live_decisions",
                "Outreach decisions taken by the live runner (suppressions too), "
                "by action and reason.",
                ["action", "reason"],
                registry=reg,
            ),
            suppressions=Counter(
                "firstcall_outreach_suppressions",
                "Contacts not made (or made in-app instead of by phone), by stage reason.",
                ["reason"],
                registry=reg,
            ),
            attempts=Counter(
                "firstcall_outreach_attempts",
                "Messages sent to families, by channel and send status.",
                ["channel", "status"],
                registry=reg,
            ),
            fallbacks=Counter(
                "firstcall_outreach_fallback_steps",
                "Steps of the fallback chain, by channel left, next step and reason.",
                ["channel", "step", "reason"],
                registry=reg,
            ),
            outcomes=Counter(
                "firstcall_outreach_outcomes",
                "Cases closed, by outcome.",
                ["outcome"],
                registry=reg,
            ),
            minutes_lost=Counter(
                "firstcall_outreach_lesson_minutes_lost",
                "Lesson minutes lost by closed cases, by outcome.",
                ["outcome"],
                registry=reg,
            ),
            pages=Counter(
                "firstcall_infra_pages",
                "Infrastructure pages for line incidents, by result (noted: a note to the "
                "page of the outage it is part of).",
                ["result"],
                registry=reg,
            ),
            line_incidents=Counter(
                "firstcall_line_incidents",
                "Line incidents opened, by role: outage (paged) or related (part of an "
                "outage already paged, e.g. an ISP line whose edge is down).",
                ["role"],
                registry=reg,
            ),
            duplicates=Counter(
                "firstcall_outreach_duplicates",
                "Records not acted on again: redelivered (incident, outreach).",
                ["record"],
                registry=reg,
            ),
            sms_replies=Counter(
                "firstcall_outreach_sms_replies",
                "SMS from families, by intent and what was done (queued, resolved, follow_up, "
                "new_case, recorded, opted_out, opted_in, no_case, unknown_sender, duplicate, "
                "followup_answer).",
                ["intent", "result"],
                registry=reg,
            ),
            waiting=Gauge(
                "firstcall_outreach_decisions_waiting",
                "Decisions waiting (in the database) for their incident record.",
                registry=reg,
            ),
            waits=Counter(
                "firstcall_outreach_decision_waits",
                "Decisions that came before their incident, by outcome (waited: kept until "
                "it comes; resumed: it came and the decision was carried out).",
                ["outcome"],
                registry=reg,
            ),
            batches=Counter(
                "firstcall_outreach_batches",
                "Polls of Kafka records applied in one transaction, by result (committed; "
                "rolled_back: applied again record by record).",
                ["result"],
                registry=reg,
            ),
            lookups=Counter(
                "firstcall_outreach_status_lookups",
                "Sends looked up at start-up (their callback or record missing), by channel and "
                "result (final: moved the chain on; in_progress: waited for; shown / not_shown: "
                "a chat recorded from the outbox; unknown: the provider could not say).",
                ["channel", "result"],
                registry=reg,
            ),
            notices_waiting=Gauge(
                "firstcall_outreach_covered_notices_waiting",
                "Chains of families covered by a line incident whose notice waits for a bulk "
                "send (one at a time, at most covered_notice_concurrency notices each).",
                registry=reg,
            ),
            put_aside=Counter(
                "firstcall_outreach_put_aside",
                "Records put in the backlog behind ordinary families', by reason (line: a line "
                "incident's; covered: a family a line incident covers; surge: a line's burst "
                "of new problems before a verdict; family_waiting: the family has records there).",
                ["reason"],
                registry=reg,
            ),
            backlog=Gauge(
                "firstcall_outreach_backlog_records",
                "Records waiting in the backlog (taken in a chunk at a time between polls).",
                registry=reg,
            ),
        )
