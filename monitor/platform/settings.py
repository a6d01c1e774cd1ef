"""Every FirstCall setting in one place: defaults < config file < environment variables.

The config file is TOML (or JSON) with one table per section
(monitor/platform/settings_sections.py, which defines every default). Each
setting also has exactly one FIRSTCALL_* environment variable (listed by
`firstcall config show --markdown`, and in docs/configuration.md). This module is
the only one that reads the environment for settings; everything else is handed
the typed sections (``Settings.kafka``, ``Settings.twilio``, ...) or objects built
from them here and in monitor/platform/kafka_settings.py.
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from pydantic import BaseModel, SecretStr, ValidationError

from detectors.config import DetectionConfig
from monitor.platform.secret_urls import mask_url
from monitor.platform.settings_sections import (
    CONFIG_ENV,
    ENV_PREFIX,
    KAFKA_CLIENT_ID,
    NOT_SETTINGS,
    SECTIONS,
    TOPIC_RETENTION_MS,
    VERDICT_MAX_WAIT_MS,
    ApiSection,
    ChatSection,
    CollectSection,
    DatabaseSection,
    DigestSection,
    GoodwillSection,
    KafkaSection,
    LoggingSection,
    ProbeSection,
    ServiceSection,
    TopicsSection,
    TwilioSection,
    all_env_aliases,
    all_env_names,
    env_alias,
    env_name,
)
from outreach.decide.decision import PolicyConfig
from outreach.decide.followup import FollowupConfig
from outreach.decide.goodwill import GoodwillRules, offer_map

if TYPE_CHECKING:
    from outreach.channels.twilio_client import TwilioSettings

__all__ = [
    "CONFIG_ENV",
    "ENV_PREFIX",
    "KAFKA_CLIENT_ID",
    "NOT_SETTINGS",
    "SECTIONS",
    "TOPIC_RETENTION_MS",
    "VERDICT_MAX_WAIT_MS",
    "ApiSection",
    "ChatSection",
    "CollectSection",
    "ConfigError",
    "DatabaseSection",
    "DigestSection",
    "GoodwillSection",
    "KafkaSection",
    "LoggingSection",
    "ProbeSection",
    "Problem",
    "ServiceSection",
    "Settings",
    "TopicsSection",
    "TwilioSection",
    "all_env_aliases",
    "all_env_names",
    "config_path",
    "database_dsn",
    "env_alias",
    "env_name",
    "load_settings",
    "markdown_reference",
    "read_file",
    "twilio_on",
    "twilio_settings",
]


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

    # Typed sections (looked up through __getitem__, so one place hands every section out).
    @property
    def kafka(self) -> KafkaSection:
        """[kafka]: connection, consumer groups, partitions, tuning."""
        return cast(KafkaSection, self["kafka"])

    @property
    def topics(self) -> TopicsSection:
        """[topics]: topic names (without the kafka topic_prefix)."""
        return cast(TopicsSection, self["topics"])

    @property
    def database(self) -> DatabaseSection:
        """[database]: the case database."""
        return cast(DatabaseSection, self["database"])

    @property
    def twilio(self) -> TwilioSection:
        """[twilio]: the Twilio account."""
        return cast(TwilioSection, self["twilio"])

    @property
    def chat(self) -> ChatSection:
        """[chat]: the chat gateway."""
        return cast(ChatSection, self["chat"])

    @property
    def api(self) -> ApiSection:
        """[api]: the desk's HTTP API."""
        return cast(ApiSection, self["api"])

    @property
    def service(self) -> ServiceSection:
        """[service]: the live outreach service."""
        return cast(ServiceSection, self["service"])

    @property
    def collect(self) -> CollectSection:
        """[collect]: the telemetry collector."""
        return cast(CollectSection, self["collect"])

    @property
    def probe(self) -> ProbeSection:
        """[probe]: metrics and health endpoints."""
        return cast(ProbeSection, self["probe"])

    @property
    def digest(self) -> DigestSection:
        """[digest]: delivery of the voice-of-the-customer digest."""
        return cast(DigestSection, self["digest"])

    @property
    def goodwill(self) -> GoodwillSection:
        """[goodwill]: goodwill offers for lost lessons and the scheduling webhook."""
        return cast(GoodwillSection, self["goodwill"])

    @property
    def logging(self) -> LoggingSection:
        """[logging]: logs."""
        return cast(LoggingSection, self["logging"])

    def detection_config(self) -> DetectionConfig:
        """Thresholds for the detectors."""
        return DetectionConfig(**self.sections["detection"].model_dump())

    def policy_config(self) -> PolicyConfig:
        """Outreach policy settings."""
        return PolicyConfig(**self.sections["outreach"].model_dump())

    def goodwill_rules(self) -> GoodwillRules:
        """When a lost lesson earns a make-up lesson or a credit."""
        g = self.goodwill
        return GoodwillRules(enabled=g.enabled, min_minutes=g.min_minutes,
                             min_share=g.min_share, lesson_minutes=g.lesson_minutes,
                             default_offer="credit" if g.default_offer == "credit" else "makeup",
                             products=offer_map(g.products))
    def followup_config(self) -> FollowupConfig:
        """Satisfaction follow-up settings."""
        return FollowupConfig(**self.sections["followup"].model_dump())

    def as_dict(self, reveal: bool = False) -> dict[str, dict[str, Any]]:
        """Section -> values (secrets masked unless `reveal`)."""
        out: dict[str, dict[str, Any]] = {}
        for name, model in self.sections.items():
            values = model.model_dump()
            for k, v in values.items():
                if isinstance(v, SecretStr):
                    values[k] = v.get_secret_value() if reveal else ("***" if v else "")
                elif isinstance(v, str) and not reveal:
                    values[k] = mask_url(v)  # a DSN's password, a webhook's key=...
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


def _environ(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def config_path(env: Mapping[str, str] | None = None) -> str | None:
    """The config file named by FIRSTCALL_CONFIG (the jobs' default for --config), if any."""
    return _environ(env).get(CONFIG_ENV) or None


def database_dsn(env: Mapping[str, str] | None = None) -> str:
    """[database] dsn from FIRSTCALL_DB alone, else its default (the small db commands' --db)."""
    value = _environ(env).get(env_name("database", "dsn"))
    return value if value else DatabaseSection.defaults().dsn


def twilio_on(section: TwilioSection) -> bool:
    """Whether Twilio is configured: account SID, auth token and caller id (else chat only)."""
    return bool(section.account_sid and section.from_number
                and section.auth_token.get_secret_value())


def twilio_settings(section: TwilioSection, callback_base: str | None = None
                    ) -> TwilioSettings | None:
    """[twilio]'s account (None without SID, token and caller id), calling back there."""
    from outreach.channels.twilio_client import TwilioSettings

    if not twilio_on(section):
        return None
    base = callback_base.rstrip("/") if callback_base else None
    return TwilioSettings(
        section.account_sid, section.auth_token.get_secret_value(), section.from_number,
        api_base_url=section.api_base_url, retry_budget_s=section.retry_budget_s,
        queue_max_wait_s=section.queue_max_wait_s,
        webhook_key=section.webhook_key.get_secret_value(),
        call_back_within_min=section.call_back_within_min,
        queue_action_url=f"{base}/twilio/queue-done" if base else None,
        status_callback_url=f"{base}/twilio/status" if base else None,
        gather_action_url=f"{base}/twilio/gather" if base else None,
    )


def load_settings(path: str | None = None, env: Mapping[str, str] | None = None,
                  overrides: Sequence[str] = ()) -> Settings:
    """Defaults < file < environment < `--set KEY=VALUE`; raises ConfigError listing problems."""
    env = _environ(env)
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
    aliases = all_env_aliases()
    for var, value in env.items():  # aliases first: a FIRSTCALL_* variable beats its alias
        if var in aliases and env_name(*aliases[var]) not in env:
            s, f = aliases[var]
            raw[s][f] = value
            origin[(s, f)] = f"{var}={mask_url(value)!r}"
    for var, value in env.items():
        if var in names:
            s, f = names[var]
            raw[s][f] = value
            origin[(s, f)] = f"{var}={mask_url(value)!r}"
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
                if err["type"] == "value_error":
                    msg = str(err.get("ctx", {}).get("error", msg))  # without "Value error, "
                elif err["type"] == "extra_forbidden":
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
        if var.startswith(ENV_PREFIX) and var not in names and var not in NOT_SETTINGS:
            hint = difflib.get_close_matches(var, names, n=1)
            warnings.append(f"{var} is not a FirstCall setting"
                            + (f" (did you mean {hint[0]}?)" if hint else ""))
    if problems:
        raise ConfigError(problems, warnings)
    return Settings(sections, tuple(warnings))


def markdown_reference() -> str:
    """Every setting with its variable, default and meaning, as Markdown."""
    lines = ["# FirstCall configuration", "",
             "Defaults < config file (`--config firstcall.toml` or `FIRSTCALL_CONFIG`, one table "
             "per section) < environment variables < the jobs' flags. Check a configuration "
             "with `firstcall config check`.", ""]
    for s, model in SECTIONS.items():
        doc = (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else ""
        if s == "detection":
            doc = "Detector thresholds (telemetry.md); times in ms of event time."
        elif s == "outreach":
            doc = "Outreach policy (frozen on each case when it opens)."
        elif s == "followup":
            doc = "The satisfaction follow-up after a case that reached the family (#18)."
        lines += [f"## [{s}]", "", doc, "",
                  "| setting | environment variable | default | meaning |", "|---|---|---|---|"]
        for f, info in model.model_fields.items():
            default = info.default
            if isinstance(default, SecretStr):
                default = "(secret, empty)"
            elif isinstance(default, str):
                default = mask_url(default)
            alias = env_alias(s, f)
            also = f" (or `{alias}`; the FIRSTCALL_ one wins)" if alias else ""
            lines.append(f"| `{f}` | `{env_name(s, f)}` | `{default}` | "
                         f"{info.description or ''}{also} |")
        lines.append("")
    lines += ["## Variables that are not settings", "",
              "| environment variable | what it is |", "|---|---|"]
    lines += [f"| `{name}` | {why} |" for name, why in NOT_SETTINGS.items()]
    lines.append("")
    return "\n".join(lines)
