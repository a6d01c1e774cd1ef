"""Every FirstCall setting in one place: defaults < config file < environment variables.

The config file is TOML (or JSON) with one table per section below. Each
setting also has exactly one environment variable (listed by
`firstcall config show --markdown`, and in docs/configuration.md). Detection
and outreach settings are derived from :class:`DetectionConfig` and
:class:`PolicyConfig`, so their defaults live in one place only.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, create_model

from detectors.config import DetectionConfig
from outreach.decide.decision import PolicyConfig

ENV_PREFIX = "FIRSTCALL_"

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
    "lateness_ms": "how late (out of order) events may arrive and still count in place",
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
    "line_wait_ms": "how much longer outreach waits for a line verdict",
    "case_reopen_ms": "a family's case is over after this long fine; a problem within this "
                      "time after that joins it",
    "recurring_incidents": "problems of one family within recurring_window_ms that bring a "
                           "technician",
    "recurring_window_ms": "window in which those problems must fall",
    "lesson_minutes_lost_escalate": "lesson minutes lost in one case that bring a technician",
    "phone_gap_ms": "never two calls or SMS to one family within this time",
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


DetectionSection = _section_from_dataclass("DetectionSection", DetectionConfig, DETECTION_DOCS)
OutreachSection = _section_from_dataclass("OutreachSection", PolicyConfig, OUTREACH_DOCS)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")
    env_prefix: ClassVar[str] = ""
    env_names: ClassVar[dict[str, str]] = {}


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


class DatabaseSection(_Section):
    """The case database."""

    env_names: ClassVar[dict[str, str]] = {"dsn": "DB"}
    dsn: str = Field("sqlite+aiosqlite:///firstcall.db",
                     description="SQLite path/URL (embedded default) or postgresql:// DSN")


class TwilioSection(_Section):
    """Phone calls and SMS through Twilio."""

    env_prefix: ClassVar[str] = "TWILIO_"
    account_sid: str = Field("", description="Twilio account SID (AC...)")
    auth_token: SecretStr = Field(SecretStr(""), description="Twilio auth token (secret)")
    from_number: str = Field("", description="caller id / sender, E.164")
    api_base_url: str = Field("https://api.twilio.com",
                              description="API base URL (regional edge or a local stand-in)")


class ChatSection(_Section):
    """The in-app chat gateway (websockets)."""

    env_prefix: ClassVar[str] = "CHAT_"
    host: str = Field("0.0.0.0", description="listen address (all interfaces: the class app "
                      "connects from outside)")
    port: int = Field(8765, ge=0, le=65535, description="listen port")
    secret: SecretStr = Field(SecretStr(""), description="HMAC secret of app tokens (secret)")


class ApiSection(_Section):
    """The HTTP API and agent console."""

    env_prefix: ClassVar[str] = "API_"
    host: str = Field("127.0.0.1", description="listen address")
    port: int = Field(8000, ge=0, le=65535, description="listen port")
    public_base_url: str = Field("", description="public URL (Twilio callbacks are signed on it)")


class ServiceSection(_Section):
    """The live outreach service (`firstcall outreach`)."""

    env_names: ClassVar[dict[str, str]] = {
        "group": "OUTREACH_GROUP", "callback_host": "CALLBACK_HOST",
        "callback_port": "CALLBACK_PORT", "public_base_url": "PUBLIC_BASE_URL",
        "page_url": "PAGE_URL", "sms_reply_path": "SMS_REPLY_PATH",
    }
    group: str = Field("firstcall-outreach", description="consumer group of the service")
    callback_host: str = Field("0.0.0.0", description="Twilio status-callback listen address")
    callback_port: int = Field(8090, ge=0, le=65535, description="Twilio status-callback port")
    public_base_url: str = Field("", description="public URL Twilio calls back (signed on it)")
    page_url: str = Field("", description="infrastructure pager webhook (line incidents)")
    sms_reply_path: str = Field("/twilio/sms", pattern="^/",
                                description="path of the incoming-SMS webhook (families' "
                                "replies) on the callback app; Twilio posts to public URL + path")


class ProbeSection(_Section):
    """Metrics and health endpoints of workers (/metrics, /healthz, /readyz)."""

    env_prefix: ClassVar[str] = "PROBE_"
    host: str = Field("0.0.0.0", description="listen address (all interfaces: the kubelet and "
                      "Prometheus must reach it)")
    port: int = Field(0, ge=-1, le=65535,
                      description="listen port (0: pick a free one, logged; -1: no probes)")


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
    "probe": ProbeSection,
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
    """Every environment variable FirstCall reads -> (section, field)."""
    return {env_name(s, f): (s, f) for s, m in SECTIONS.items() for f in m.model_fields}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a configuration, said plainly."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class ConfigError(ValueError):
    """A configuration that does not validate; carries every problem."""

    def __init__(self, problems: list[Problem], warnings: Sequence[str] = ()) -> None:
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems
        self.warnings = tuple(warnings)


@dataclass(frozen=True)
class Settings:
    """The effective configuration of one process."""

    sections: dict[str, BaseModel]
    warnings: tuple[str, ...] = ()

    def __getitem__(self, section: str) -> BaseModel:
        return self.sections[section]

    def detection_config(self) -> DetectionConfig:
        """Thresholds for the detectors."""
        return DetectionConfig(**self.sections["detection"].model_dump())

    def policy_config(self) -> PolicyConfig:
        """Outreach policy settings."""
        return PolicyConfig(**self.sections["outreach"].model_dump())

    def as_dict(self, reveal: bool = False) -> dict[str, dict[str, Any]]:
        """Section -> values (secrets masked unless `reveal`)."""
        out: dict[str, dict[str, Any]] = {}
        for name, model in self.sections.items():
            values = model.model_dump()
            for k, v in values.items():
                if isinstance(v, SecretStr):
                    values[k] = v.get_secret_value() if reveal else ("***" if v else "")
            out[name] = values
        return out


def read_file(path: str | None) -> dict[str, Any]:
    """Parse a TOML or JSON config file (empty when no path)."""
    if not path:
        return {}
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        parsed = json.loads(data) if path.endswith(".json") else tomllib.loads(data.decode())
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        kind = "JSON" if path.endswith(".json") else "TOML"
        raise ConfigError([Problem(path, f"not valid {kind}: {exc}")]) from exc
    if not isinstance(parsed, dict):
        raise ConfigError([Problem(path, "expected a table of sections")])
    return parsed


def load_settings(path: str | None = None, env: Mapping[str, str] | None = None,
                  overrides: Sequence[str] = ()) -> Settings:
    """Defaults < file < environment < `--set KEY=VALUE`; raises ConfigError listing problems."""
    env = os.environ if env is None else env
    problems: list[Problem] = []
    data = read_file(path)
    where = path or "config"
    for name in data:
        if name not in SECTIONS:
            hint = difflib.get_close_matches(name, SECTIONS, n=1)
            problems.append(Problem(f"{where} [{name}]", "unknown section"
                                    + (f" (did you mean [{hint[0]}]?)" if hint else "")))
    raw: dict[str, dict[str, Any]] = {
        s: dict(data.get(s, {})) if isinstance(data.get(s, {}), dict) else {} for s in SECTIONS
    }
    origin: dict[tuple[str, str], str] = {}
    for s, values in raw.items():
        for f in values:
            origin[(s, f)] = f"{where} [{s}] {f}"
    names = all_env_names()
    for var, value in env.items():
        if var in names:
            s, f = names[var]
            raw[s][f] = value
            origin[(s, f)] = f"{var}={value!r}"
    by_field = {f: s for s in ("detection", "outreach") for f in SECTIONS[s].model_fields}
    for item in overrides:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep:
            problems.append(Problem(f"--set {item}", "expected KEY=VALUE"))
        elif key not in by_field:
            hint = difflib.get_close_matches(key, by_field, n=1)
            problems.append(Problem(f"--set {key}", "unknown setting"
                                    + (f" (did you mean {hint[0]}?)" if hint else "")))
        else:
            raw[by_field[key]][key] = value.strip()
            origin[(by_field[key], key)] = f"--set {key}={value.strip()}"
    sections: dict[str, BaseModel] = {}
    for s, model in SECTIONS.items():
        try:
            sections[s] = model.model_validate(raw[s])
        except ValidationError as exc:
            for err in exc.errors():
                field = str(err["loc"][0]) if err["loc"] else "?"
                src = origin.get((s, field), f"{where} [{s}] {field}")
                msg = err["msg"]
                if err["type"] == "extra_forbidden":
                    hint = difflib.get_close_matches(field, model.model_fields, n=1)
                    msg = "unknown setting" + (f" (did you mean {hint[0]}?)" if hint else "")
                problems.append(Problem(src, msg))
    if not problems:
        d = sections["detection"]
        if getattr(d, "lag_min_degraded", 0) > getattr(d, "lag_window", 0):
            problems.append(Problem("detection.lag_min_degraded",
                                    "cannot exceed detection.lag_window"))
    warnings = []
    for var in env:
        if var.startswith(ENV_PREFIX) and var not in names and var not in _OTHER_ENV:
            hint = difflib.get_close_matches(var, names, n=1)
            warnings.append(f"{var} is not a FirstCall setting"
                            + (f" (did you mean {hint[0]}?)" if hint else ""))
    if problems:
        raise ConfigError(problems, warnings)
    return Settings(sections, tuple(warnings))


# Variables read outside the settings (tests, tools), so not typos.
_OTHER_ENV = frozenset({"FIRSTCALL_REQUIRE_SERVICES", "FIRSTCALL_BENCH_CACHE",
                        "FIRSTCALL_HEALTH_URL"})


def markdown_reference() -> str:
    """Every setting with its variable, default and meaning, as Markdown."""
    lines = ["# FirstCall configuration", "",
             "Defaults < config file (`--config firstcall.toml`, one table per section) < "
             "environment variables. Check a configuration with `firstcall config check`.", ""]
    for s, model in SECTIONS.items():
        doc = (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else ""
        if s == "detection":
            doc = "Detector thresholds (telemetry.md); times in ms of event time."
        elif s == "outreach":
            doc = "Outreach policy (frozen on each case when it opens)."
        lines += [f"## [{s}]", "", doc, "",
                  "| setting | environment variable | default | meaning |", "|---|---|---|---|"]
        for f, info in model.model_fields.items():
            default = info.default
            if isinstance(default, SecretStr):
                default = "(secret, empty)"
            lines.append(
                f"| `{f}` | `{env_name(s, f)}` | `{default}` | {info.description or ''} |")
        lines.append("")
    return "\n".join(lines)
