"""The sections of the settings: every setting's type, default, meaning and variable.

Part of monitor.platform.settings (which loads them); the one place defaults are defined.
Detection and outreach sections are derived from :class:`DetectionConfig` and
:class:`PolicyConfig`, so their defaults live in those classes only.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Final, Self, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, SecretStr, create_model, field_validator

from detectors.config import DetectionConfig
from outreach.contact.line_surge import SURGE_SESSIONS, SURGE_WINDOW_MS
from outreach.contact.notice_lane import COVERED_NOTICE_CONCURRENCY, COVERED_NOTICE_MAX_HOLD_S
from outreach.decide.decision import PolicyConfig
from outreach.decide.followup import FollowupConfig
from outreach.decide.goodwill import offer_map
from outreach.store.db import DEFAULT_DSN, PoolSettings
from outreach.store.users import TOKEN_DAYS

ENV_PREFIX = "FIRSTCALL_"
ACCOUNT_SID: Final = re.compile(r"AC[0-9a-fA-F]{32}")
FROM_NUMBER: Final = re.compile(r"\+[0-9]{8,15}|MG[0-9a-fA-F]{32}")
AGENT_PHONE: Final = re.compile(r"([A-Za-z0-9_.@-]{1,64})=(\+[0-9]{8,15})")


def agent_phone_map(value: str) -> dict[str, str]:
    """`alice=+4915112345678,bob=+14155550101` -> {agent: E.164 phone}; ValueError if malformed."""
    phones: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        if (m := AGENT_PHONE.fullmatch(item)) is None:
            raise ValueError(f"not agent=+E.164: {item[:80]!r}")
        phones[m[1]] = m[2]
    return phones

DETECTION_DOCS: dict[str, str] = {
    "lag_window": "stats intervals in the lag window",
    "lag_min_degraded": "degraded intervals in the window that make a lag",
    "freeze_share": "share of an interval frozen that degrades it (0.30 = 600 ms of 2 s)",
    "audio_stall_share": "share of an interval with audio stalled that degrades it",
    "min_fps": "frames per second below which (with media flowing) an interval is degraded",
    "max_loss_pct": "packet loss (%) above which an interval is degraded",
    "max_rtt_ms": "round-trip time (ms) above which an interval is degraded",
    "silence_ms": "no event at all for this long is a disconnect",
    "reconnect_timeout_ms": "reconnect attempts without ok for this long are a disconnect",
    "reconnect_grace_ms": "extra wait for a late ok before deciding a reconnect failed",
    "flap_drops": "drops that make a session flap",
    "flap_window_ms": "window in which those drops must fall",
    "line_window_ms": "sliding window over episode starts for line incidents",
    "line_min_sessions": "sessions of a line in trouble that make a line incident",
    "line_min_share": "share of the line's active sessions that must be in trouble",
    "line_min_classrooms": "classrooms those sessions must span",
    "line_rejoin_ms": "a new wave this soon after a line incident ends joins it",
    "line_related_share": "share of an ISP+region line incident's sessions on one edge that "
                          "makes it related to that edge's incident (0: never)",
    "line_update_interval_ms": "a line incident's updates come at most this often (coalesced)",
    "line_update_max_sessions": "sessions named in one line incident record at most",
    "lateness_ms": "how late (out of order) events may arrive and still count in place",
    "max_ahead_ms": "an event whose ts is further ahead of its arrival (or of the stream's "
                    "clock in replay) is dead-lettered as ts_out_of_range",
    "max_behind_ms": "an event whose ts is further behind its arrival (or the stream's clock) "
                     "is dead-lettered as ts_out_of_range",
    "session_ttl_ms": "a silent session is forgotten after this long",
    "left_ttl_ms": "a session that left is forgotten after this long",
}
OUTREACH_DOCS: dict[str, str] = {
    "hold_off_ms": "wait this long after detection; a problem that heals meanwhile is left alone",
    "contact_cooldown_ms": "a family contacted this recently is not contacted again",
    "max_calls_per_lesson": "phone calls (or SMS) to one family per lesson at most",
    "max_calls_per_day": "phone calls (or SMS) to one family per day at most",
    "line_coverage_grace_ms": "a line incident still covers its sessions this long after it ends",
    "line_suspect_sessions": "sessions of a line in trouble that make outreach wait for it",
    "line_suspect_share": "share of the line's sessions that must be in trouble for that wait",
    "line_wait_ms": "how much longer outreach waits for a line verdict",
    "family_cases": "one family, one case (contract 1.1): repeat problems join the family's "
                    "case and escalate (false: one case per incident, 1.0)",
    "case_reopen_ms": "a family's case is over after this long fine; a problem within this "
                      "time after that joins it",
    "recurring_incidents": "problems of one family within recurring_window_ms that bring a "
                           "technician",
    "recurring_window_ms": "window in which those problems must fall",
    "lesson_minutes_lost_escalate": "lesson minutes lost in one case that bring a technician",
    "phone_gap_ms": "never two calls or SMS to one family within this time",
    "all_clear_text": "what the families under a line incident are told once it is over and "
                      "its children were closed (in the app's chat, else by SMS)",
}


def _section_from_dataclass(name: str, cls: type[Any], docs: Mapping[str, str]) -> type[BaseModel]:
    hints = get_type_hints(cls)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        extra: dict[str, Any] = {}
        if kind in (int, float):
            extra["ge"] = 0
        if f.name.endswith("_share"):
            extra["le"] = 1
        fields[f.name] = (kind, Field(f.default, description=docs.get(f.name, ""), **extra))
    model: type[BaseModel] = create_model(  # type: ignore[call-overload]
        name, __config__=ConfigDict(extra="forbid"), **fields
    )
    return model


FOLLOWUP_DOCS: dict[str, str] = {
    "delay_ms": "the satisfaction follow-up goes this long after the lesson ended (or the "
                "case closed, if later)",
    "answer_window_ms": "a family's answer this late still attaches to its case",
    "low_score": "a score of this or lower opens a follow-up case for the agent",
}


DetectionSection = _section_from_dataclass("DetectionSection", DetectionConfig, DETECTION_DOCS)
OutreachSection = _section_from_dataclass("OutreachSection", PolicyConfig, OUTREACH_DOCS)
FollowupSection = _section_from_dataclass("FollowupSection", FollowupConfig, FOLLOWUP_DOCS)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")
    env_prefix: ClassVar[str] = ""
    env_names: ClassVar[dict[str, str]] = {}
    # Other names a setting is also read from, below its FIRSTCALL_* variable.
    env_aliases: ClassVar[dict[str, str]] = {}

    @classmethod
    def defaults(cls) -> Self:
        """This section with every setting at its default."""
        return cls.model_validate({})


class KafkaSection(_Section):
    """Kafka connection, consumer groups and partitions."""

    env_prefix: ClassVar[str] = "KAFKA_"
    env_names: ClassVar[dict[str, str]] = {
        "worker_group": "WORKER_GROUP", "correlator_group": "CORRELATOR_GROUP",
        "telemetry_partitions": "PARTITIONS", "findings_partitions": "FINDINGS_PARTITIONS",
        "clock": "CLOCK", "topic_prefix": "TOPIC_PREFIX",
    }
    bootstrap: str = Field("127.0.0.1:9092", description="bootstrap servers, host:port[,...]")
    worker_group: str = Field("firstcall-worker", description="consumer group of the workers")
    correlator_group: str = Field("firstcall-correlator",
                                  description="consumer group of the line correlator")
    telemetry_partitions: int = Field(4, ge=1, description="partitions of class.telemetry")
    findings_partitions: int = Field(4, ge=1, description="partitions of the findings topic")
    clock: str = Field("wall", pattern="^(wall|event)$",
                       description="'wall' (live) or 'event' (deterministic, replay speed)")
    topic_prefix: str = Field("", description="prefix in front of every topic name")
    max_batch: int = Field(20_000, ge=1,
                           description="records per getmany batch at most (larger batches cost "
                           "less per record; a partition left half-drained is fetched again "
                           "only once drained)")
    poll_ms: int = Field(100, ge=1, description="getmany timeout")
    record_path: str = Field("lean", pattern="^(lean|stock)$",
                             description="'lean': aiokafka's decoded records without building "
                             "ConsumerRecord objects (faster); 'stock': plain getmany records")
    gc_threshold: int = Field(100_000, ge=0,
                              description="young-generation GC threshold of the worker: a "
                              "batch's records die before a collection (0: Python's 700)")
    fetch_handoff: bool = Field(True,
                                description="let aiokafka send the next fetch before a batch "
                                "is processed, so the broker's round trip overlaps the work "
                                "(false: the fetch waits for the batch)")


class TopicsSection(_Section):
    """Topic names."""

    env_prefix: ClassVar[str] = "TOPIC_"
    telemetry: str = Field("class.telemetry", description="telemetry in (key session_id)")
    dlq: str = Field("class.telemetry.dlq", description="bad records, reason in a header")
    incidents: str = Field("support.incidents", description="incident records out")
    outcomes: str = Field("support.outcomes", description="case outcomes out")
    findings: str = Field("firstcall.findings", description="internal: findings keyed by line")
    verdicts: str = Field("firstcall.line-verdicts", description="internal: line verdicts")
    state: str = Field("firstcall.worker-state", description="internal: compacted worker state")


POOL_DEFAULTS: Final = PoolSettings()


class DatabaseSection(_Section):
    """The case database."""

    env_names: ClassVar[dict[str, str]] = {
        "dsn": "DB", "pool_size": "DB_POOL_SIZE", "pool_overflow": "DB_POOL_OVERFLOW",
        "statement_cache": "DB_STATEMENT_CACHE",
    }
    dsn: str = Field(DEFAULT_DSN,
                     description="SQLite path/URL (embedded default) or postgresql:// DSN")
    pool_size: int = Field(POOL_DEFAULTS.size, ge=1, le=500,
                           description="PostgreSQL connections a process keeps open (a burst "
                           "of contact chains reuses them rather than opening new ones)")
    pool_overflow: int = Field(POOL_DEFAULTS.overflow, ge=0, le=500,
                               description="connections a burst may open beyond those, each "
                               "closed when given back")
    statement_cache: int = Field(POOL_DEFAULTS.statement_cache, ge=0, le=100_000,
                                 description="prepared statements each PostgreSQL connection "
                                 "keeps (one not kept is prepared again: one more round trip)")

    def pool(self) -> PoolSettings:
        """The engine's connections as these settings ask."""
        return PoolSettings(self.pool_size, self.pool_overflow, self.statement_cache)


class TwilioSection(_Section):
    """Phone calls and SMS through Twilio."""

    env_prefix: ClassVar[str] = "TWILIO_"
    env_aliases: ClassVar[dict[str, str]] = {
        "account_sid": "TWILIO_ACCOUNT_SID", "auth_token": "TWILIO_AUTH_TOKEN",
        "from_number": "TWILIO_FROM_NUMBER", "api_base_url": "TWILIO_API_BASE_URL",
    }
    account_sid: str = Field("", description="Twilio account SID (AC + 32 hex digits)")
    auth_token: SecretStr = Field(SecretStr(""), description="Twilio auth token (secret)")
    from_number: str = Field("", description="caller id / sender: E.164 (+ and 8-15 digits) "
                             "or a Messaging Service SID (MG + 32 hex digits)")
    api_base_url: str = Field("https://api.twilio.com",
                              description="API base URL (regional edge or a local stand-in)")
    webhook_key: SecretStr = Field(SecretStr(""), description="SharedKey secret of HMAC-SHA256 "
                                   "webhook signatures that name a key (secret; without it "
                                   "they are checked with the auth token)")
    queue_max_wait_s: int = Field(120, ge=10, le=3600,
                                  description="longest wait of a caller who pressed 1 for a "
                                  "technician; then a call back is promised")
    call_back_within_min: int = Field(15, ge=1, le=1440,
                                      description="the call back promised after that wait "
                                      "(minutes; on the case timeline)")
    agent_phones: str = Field("", description="agent=+E.164 pairs, comma-separated: the phone "
                              "a waiting caller is put through to when that agent claims the case")
    retry_budget_s: float = Field(30.0, ge=0, le=600,
                                  description="longest total wait retrying one request (a 429's "
                                  "Retry-After is honoured within it)")

    @field_validator("account_sid")
    @classmethod
    def _account_sid(cls, value: str) -> str:
        if value and not ACCOUNT_SID.fullmatch(value):
            raise ValueError("not a Twilio account SID: expected AC followed by 32 hex digits")
        return value

    @field_validator("agent_phones")
    @classmethod
    def _agent_phones(cls, value: str) -> str:
        agent_phone_map(value)
        return value

    @field_validator("from_number")
    @classmethod
    def _from_number(cls, value: str) -> str:
        if value and not FROM_NUMBER.fullmatch(value):
            raise ValueError("not a caller id: expected an E.164 number (+ and 8 to 15 digits, "
                             "e.g. +14155550100) or a Messaging Service SID (MG and 32 hex digits)")
        return value


class ChatSection(_Section):
    """The in-app chat gateway (websockets)."""

    env_prefix: ClassVar[str] = "CHAT_"
    host: str = Field("0.0.0.0", description="listen address (all interfaces: the class app "
                      "connects from outside)")
    port: int = Field(8765, ge=0, le=65535, description="listen port")
    secret: SecretStr = Field(SecretStr(""), description="HMAC secret of app tokens (secret)")
    relay_s: float = Field(0.5, ge=0, le=60, description="how often the gateway looks in the "
                           "outbox for messages another outreach replica pushed to a family "
                           "connected here, and for acks it took (0: never; one replica)")


class ApiSection(_Section):
    """The HTTP API and agent console."""

    env_prefix: ClassVar[str] = "API_"
    host: str = Field("127.0.0.1", description="listen address")
    port: int = Field(8000, ge=0, le=65535, description="listen port")
    token_days: int = Field(TOKEN_DAYS, ge=1, le=3650,
                            description="desk tokens (`firstcall user add`) expire this many "
                                        "days after they are issued")
    sla_warn_s: int = Field(30, ge=0, le=86_400,
                            description="the console shows a queued case amber this many "
                                        "seconds before its service level is missed")


class ServiceSection(_Section):
    """The live outreach service (`firstcall outreach`)."""

    env_names: ClassVar[dict[str, str]] = {
        "group": "OUTREACH_GROUP", "callback_host": "CALLBACK_HOST",
        "callback_port": "CALLBACK_PORT", "public_base_url": "PUBLIC_BASE_URL",
        "page_url": "PAGE_URL", "sms_reply_path": "SMS_REPLY_PATH",
        "covered_notice_concurrency": "OUTREACH_COVERED_NOTICE_CONCURRENCY",
        "covered_notice_max_hold_s": "OUTREACH_COVERED_NOTICE_MAX_HOLD_S",
        "surge_sessions": "OUTREACH_SURGE_SESSIONS",
        "surge_window_ms": "OUTREACH_SURGE_WINDOW_MS",
    }
    group: str = Field("firstcall-outreach", description="consumer group of the service")
    callback_host: str = Field("0.0.0.0", description="Twilio status-callback listen address")
    callback_port: int = Field(8090, ge=0, le=65535, description="Twilio status-callback port")
    public_base_url: str = Field("", description="public URL Twilio calls back (signed on it): "
                                 "https, required with live Twilio (an api_base_url on "
                                 "loopback, the local stand-in, may go without or use http)")
    page_url: str = Field("", description="infrastructure pager webhook (line incidents)")
    sms_reply_path: str = Field("/twilio/sms", pattern="^/",
                                description="path of the incoming-SMS webhook (families' "
                                "replies) on the callback app; Twilio posts to public URL + path")
    covered_notice_concurrency: int = Field(
        COVERED_NOTICE_CONCURRENCY, ge=1, le=1_000,
        description="notices to families covered by a line incident (an outage) sent together "
                    "in one bulk send at most (one bulk send at a time); the others wait for "
                    "the next, other families' contacts never do")
    covered_notice_max_hold_s: float = Field(
        COVERED_NOTICE_MAX_HOLD_S, ge=0, le=600,
        description="while the service is behind with its records (a poll of 100 or more), "
                    "those notices wait for it to catch up, each at most this long (s): the "
                    "ordinary families' decisions behind them are taken in first")
    surge_sessions: int = Field(
        SURGE_SESSIONS, ge=0, le=1_000_000,
        description="a line (edge, or ISP+region) on which this many sessions' problems began "
                    "within surge_window_ms: their incident records are taken in behind other "
                    "families' records, as a line incident's are (an outage before its "
                    "verdict; nothing is decided differently); 0: never")
    surge_window_ms: int = Field(
        SURGE_WINDOW_MS, ge=100, le=600_000,
        description="the surge's window: between the problems' starts (event time, ms)")


class CollectSection(_Section):
    """The telemetry collector (`firstcall collect`): HTTP and websocket ingest into Kafka."""

    env_prefix: ClassVar[str] = "COLLECT_"
    host: str = Field("0.0.0.0", description="listen address (all interfaces: browsers post "
                      "from outside)")
    port: int = Field(8088, ge=0, le=65535, description="listen port")
    secret: SecretStr = Field(SecretStr(""), description="HMAC secret of session tokens "
                              "(secret; required to start)")
    token_max_ttl_s: int = Field(21_600, ge=60, description="a session token may be valid for "
                                 "at most this long from now")
    allowed_origins: str = Field("", description="comma-separated origins of the class app "
                                 "allowed by CORS and on the websocket (empty: none)")
    max_body_bytes: int = Field(262_144, ge=1024, description="request body (or websocket "
                                "message) size at most")
    max_events: int = Field(200, ge=1, description="events per request at most")
    rate_per_s: float = Field(20.0, gt=0, description="events per session per second "
                              "(sustained; more gets 429 with Retry-After)")
    burst: int = Field(200, ge=1, description="events a session may send at once above the rate")
    buffer_events: int = Field(50_000, ge=1, description="events held in memory waiting for "
                               "the broker's ack; more gets 503 with Retry-After")
    ack_timeout_s: float = Field(10.0, gt=0, description="a request waits this long for the "
                                 "broker's ack, then gets 503 (its events stay buffered)")
    retry_after_s: int = Field(2, ge=1, description="Retry-After of 503 answers")
    idempotent: bool = Field(True, description="aiokafka's idempotent producer (false for "
                             "brokers without InitProducerId, e.g. the tansu test broker)")
    tracked_sessions: int = Field(100_000, ge=1, description="sessions whose rate is tracked "
                                  "at once (the oldest is forgotten beyond)")


class ProbeSection(_Section):
    """Metrics and health endpoints of workers (/metrics, /healthz, /readyz)."""

    env_prefix: ClassVar[str] = "PROBE_"
    host: str = Field("0.0.0.0", description="listen address (all interfaces: the kubelet and "
                      "Prometheus must reach it)")
    port: int = Field(0, ge=-1, le=65535,
                      description="listen port (0: pick a free one, logged; -1: no probes)")


WEEKLY_PATTERN: Final = r"^$|^(mon|tue|wed|thu|fri|sat|sun) ([01][0-9]|2[0-3]):[0-5][0-9]$"


class DigestSection(_Section):
    """The voice-of-the-customer digest's delivery (`firstcall voc --send`)."""

    env_prefix: ClassVar[str] = "VOC_"
    smtp_host: str = Field("", description="SMTP server of the digest email (empty: no email)")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port")
    smtp_starttls: bool = Field(True, description="upgrade the SMTP connection with STARTTLS "
                                "(off only for a server on loopback)")
    smtp_user: str = Field("", description="SMTP login (empty: none)")
    smtp_password: SecretStr = Field(SecretStr(""), description="SMTP password (secret)")
    email_from: str = Field("", description="sender address of the digest email")
    email_to: str = Field("", description="recipients, comma-separated")
    webhook_url: str = Field("", description="webhook the digest is POSTed to as JSON "
                             "(empty: none); signed, see docs/voc.md")
    webhook_key: SecretStr = Field(SecretStr(""), description="HMAC-SHA256 key of the webhook "
                                   "signature (secret; required with webhook_url)")
    timeout_s: float = Field(10.0, gt=0, le=120, description="timeout of one delivery")
    weekly_at: str = Field("", pattern=WEEKLY_PATTERN,
                           description="`firstcall serve` sends the last 7 days' digest every "
                           "week at this UTC time, e.g. `mon 07:00` (empty: never; set it on "
                           "one desk replica only)")


class GoodwillSection(_Section):
    """Goodwill for lost lessons: when an offer is proposed, and the scheduling webhook."""

    env_prefix: ClassVar[str] = "GOODWILL_"
    enabled: bool = Field(True, description="propose goodwill offers as cases close")
    min_minutes: float = Field(10.0, ge=0, description="lesson minutes lost that earn an offer")
    min_share: float = Field(0.25, ge=0, le=1, description="or this share of the lesson lost")
    lesson_minutes: float = Field(45.0, gt=0, description="a lesson's length (for min_share)")
    default_offer: str = Field("makeup", pattern="^(makeup|credit)$",
                               description="offer when no product matches: makeup or credit")
    products: str = Field("", description="offer per product by classroom-id prefix, e.g. "
                          "`eng-=credit,vip-=makeup` (the longest prefix wins)")
    webhook_url: str = Field("", description="the school's scheduling webhook for confirmed "
                             "offers (empty: none); signed, see docs/goodwill.md; set it on "
                             "one outreach replica only")
    webhook_key: SecretStr = Field(SecretStr(""), description="HMAC-SHA256 key of the webhook "
                                   "signature (secret; required with webhook_url)")
    timeout_s: float = Field(10.0, gt=0, le=120, description="timeout of one webhook request")
    max_attempts: int = Field(4, ge=1, le=20, description="tries per delivery round (backoff "
                              "between); a row not accepted is tried again next round")
    every_s: float = Field(30.0, gt=0, description="seconds between delivery rounds")

    @field_validator("products")
    @classmethod
    def _products(cls, value: str) -> str:
        offer_map(value)
        return value


class LoggingSection(_Section):
    """Logs."""

    env_prefix: ClassVar[str] = "LOG_"
    level: str = Field("info", pattern="^(debug|info|warning|error)$", description="log level")


SECTIONS: dict[str, type[BaseModel]] = {
    "detection": DetectionSection,
    "outreach": OutreachSection,
    "kafka": KafkaSection,
    "topics": TopicsSection,
    "database": DatabaseSection,
    "twilio": TwilioSection,
    "chat": ChatSection,
    "api": ApiSection,
    "service": ServiceSection,
    "collect": CollectSection,
    "probe": ProbeSection,
    "digest": DigestSection,
    "goodwill": GoodwillSection,
    "followup": FollowupSection,
    "logging": LoggingSection,
}


def env_name(section: str, field: str) -> str:
    """The environment variable of one setting."""
    model = SECTIONS[section]
    names: dict[str, str] = getattr(model, "env_names", {})
    if field in names:
        return ENV_PREFIX + names[field]
    return ENV_PREFIX + getattr(model, "env_prefix", "") + field.upper()


def all_env_names() -> dict[str, tuple[str, str]]:
    """Every FIRSTCALL_* variable of a setting -> (section, field)."""
    return {env_name(s, f): (s, f) for s, m in SECTIONS.items() for f in m.model_fields}


def env_alias(section: str, field: str) -> str | None:
    """The other name a setting is also read from (below its FIRSTCALL_* one), if any."""
    aliases: dict[str, str] = getattr(SECTIONS[section], "env_aliases", {})
    return aliases.get(field)


def all_env_aliases() -> dict[str, tuple[str, str]]:
    """Every alias variable -> (section, field): Twilio's own TWILIO_* names."""
    return {a: (s, f) for s in SECTIONS for f in SECTIONS[s].model_fields
            if (a := env_alias(s, f)) is not None}


# The file of settings: not a setting itself (it holds them).
CONFIG_ENV: Final = "FIRSTCALL_CONFIG"

# FIRSTCALL_* variables that are not settings, each with who reads it and why: load_settings
# does not warn about them. CONFIG_ENV is read here; the others outside the product's
# settings (tests/monitor/platform/test_env_reads.py names the product's exceptions).
NOT_SETTINGS: Final[Mapping[str, str]] = {
    CONFIG_ENV: "the config file (`--config`) of worker, correlator, outreach and serve",
    "FIRSTCALL_PURE_PYTHON": "build switch: 1 runs the pure-Python detectors even when a "
                             "compiled build exists (detectors/__init__.py)",
    "FIRSTCALL_COMPILE": "build switch at install: 0 skips compiling the hot path (setup.py)",
    "FIRSTCALL_HEALTH_URL": "the container image's health check (deploy/Dockerfile)",
    "FIRSTCALL_REQUIRE_SERVICES": "tests: fail instead of skip without PostgreSQL/Kafka",
    "FIRSTCALL_BENCH_CACHE": "benchmarks: where downloaded traces are cached",
    "FIRSTCALL_TANSU": "benchmarks and tests: the tansu Kafka broker binary to run",
    "FIRSTCALL_CHROMIUM": "tests: the browser the console tests drive",
}

# Fixed values of the streaming runtime (no variable: not meant to be tuned per deployment).
TOPIC_RETENTION_MS: Final = 24 * 3600 * 1000  # retention of the topics the jobs create
VERDICT_MAX_WAIT_MS: Final = 30_000  # wall clock: release outreach held for a line verdict
KAFKA_CLIENT_ID: Final = "firstcall"  # client id prefix of the jobs' Kafka clients
