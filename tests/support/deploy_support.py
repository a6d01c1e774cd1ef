"""Helpers of the deploy/ tests: paths, YAML, the metrics the code exports, PromQL names,
and the environment variables the commands the deployment runs read."""

from __future__ import annotations

import argparse
import ast
import itertools
import os
import re
import shlex
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from detectors.config import DetectionConfig
from monitor.apps import db as db_cli
from monitor.apps import kafka_jobs as cli
from monitor.apps import outreach as live_cli
from monitor.apps import serve
from monitor.desk.desk_metrics import DeskMetrics
from monitor.platform import settings as settings_module
from monitor.platform.metrics import Metrics
from monitor.platform.settings import ENV_PREFIX, all_env_names, env_name
from outreach.contact.metrics import OutreachMetrics
from outreach.decide.decision import PolicyConfig

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "firstcall-dashboard.json"
COMPOSE = DEPLOY / "compose.yaml"
TOPICS_SCRIPT = K8S / "jobs" / "create-topics.sh"
OPERATIONS = ROOT / "docs" / "operations.md"

# Series Prometheus itself makes, which rules may use besides the exported ones.
PROMETHEUS_SERIES = {"up": {"job", "instance"}}
TARGET_LABELS = {"job", "instance"}

# Subcommands the deployment runs that `firstcall` does not have yet. Empty: every command the
# deployment runs exists, so the tests parse each one's arguments with the real parser.
PENDING_COMMANDS: frozenset[str] = frozenset()

# Settings of optional features the deployment passes when it uses them (read by the code, but
# not needed to start): Twilio, the public URL Twilio calls back (the outreach service's callbacks),
# the infrastructure pager webhook, the image's health-check URL.
OPTIONAL_ENV = {
    "FIRSTCALL_TWILIO_ACCOUNT_SID",
    "FIRSTCALL_TWILIO_AUTH_TOKEN",
    "FIRSTCALL_TWILIO_FROM_NUMBER",
    "FIRSTCALL_TWILIO_API_BASE_URL",
    "FIRSTCALL_TWILIO_AGENT_PHONES",  # waiting callers are put through only where agents have one
    "FIRSTCALL_PUBLIC_BASE_URL",
    "FIRSTCALL_PAGE_URL",
    "FIRSTCALL_GOODWILL_WEBHOOK_URL",  # without it confirmed offers wait in their outbox
    "FIRSTCALL_HEALTH_URL",
    "FIRSTCALL_CONFIG",  # the manifests configure by environment, not by a file
    "FIRSTCALL_VOC_WEEKLY_AT",  # the weekly digest is off unless asked for (docs/voc.md)
}

# Read by the commands but fine at their defaults in a deployment (the outreach service listens
# on 0.0.0.0 by default; the desk's API host, 127.0.0.1 by default, is not fine), and the
# workers' tuning knobs.
DEFAULT_IS_FINE = re.compile(
    r"FIRSTCALL_(TOPIC_\w+|CLOCK|PROBE_HOST|LOG_LEVEL|OUTREACH_GROUP|OUTREACH_COVERED_NOTICE_\w+|OUTREACH_SURGE_\w+|CALLBACK_HOST|CHAT_HOST|CHAT_RELAY_S|API_SLA_WARN_S"
    r"|GOODWILL_(DEFAULT_OFFER|ENABLED|LESSON_MINUTES|MIN_MINUTES|MIN_SHARE|PRODUCTS)"
    r"|KAFKA_(MAX_BATCH|POLL_MS|RECORD_PATH|GC_THRESHOLD|FETCH_HANDOFF))$"
)
# A pager webhook URL usually carries its token: a secret too.
SECRET_NAME = re.compile(
    r"(PASSWORD|SECRET|TOKEN|SID|DSN|^FIRSTCALL_DB$|API_KEY|PRIVATE|PAGE_URL)", re.I
)


def load_yaml(path: Path) -> Any:
    """One YAML document."""
    return yaml.safe_load(path.read_text())


def load_yaml_all(path: Path) -> list[dict[str, Any]]:
    """Every non-empty document of a YAML file."""
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


# -- metrics -----------------------------------------------------------------------------

SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
}


# The metric sets the processes export (each a dataclass with a `create(registry)`): the
# workers and the correlator (monitor/platform/metrics.py), `firstcall outreach`
# (outreach/contact/metrics.py) and the desk, `firstcall serve` (monitor/desk/desk_metrics.py).
# A new one: add its class here.
METRIC_SOURCES: tuple[Any, ...] = (Metrics, OutreachMetrics, DeskMetrics)


def exported_series() -> dict[str, set[str]]:
    """Every series name the code exports -> its label names, from a fresh registry."""
    registry = CollectorRegistry()
    labels = {}
    for source in METRIC_SOURCES:
        metrics = source.create(registry)
        for f in fields(source):
            if f.name != "registry":
                collector = getattr(metrics, f.name)
                labels[collector._name] = set(collector._labelnames)
    series: dict[str, set[str]] = {}
    for family in registry.collect():
        for suffix in SUFFIXES[family.type]:
            extra = {"le"} if suffix == "_bucket" else set()
            series[family.name + suffix] = labels[family.name] | extra | TARGET_LABELS
    return series


def known_series() -> dict[str, set[str]]:
    """Exported series plus the ones Prometheus makes itself."""
    return {**exported_series(), **PROMETHEUS_SERIES}


_STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'')
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_KEYWORDS = {"and", "or", "unless", "offset", "bool", "inf", "nan", "atan2"}


def _strip(expr: str) -> str:
    expr = re.sub(r"\$\{?\w+\}?", "", expr)  # Grafana variables ($__rate_interval)
    expr = _STRING.sub('""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges and subqueries
    return _GROUPING.sub("", expr)


def metric_names(expr: str) -> set[str]:
    """The series names a PromQL expression selects (identifiers that are not functions)."""
    text = _strip(expr)
    names = set()
    for m in re.finditer(r"(?<![\w.])[A-Za-z_:][\w:]*", text):
        if text[m.end() :].lstrip().startswith("(") or m.group().lower() in _KEYWORDS:
            continue
        names.add(m.group())
    return names


def matcher_labels(expr: str) -> dict[str, set[str]]:
    """Series name -> label names used in its {matchers}."""
    expr = re.sub(r"\$\{?\w+\}?", "", expr)
    out: dict[str, set[str]] = {}
    for m in re.finditer(r"([A-Za-z_:][\w:]*)\s*\{([^}]*)\}", expr):
        body = _STRING.sub('""', m.group(2))
        out.setdefault(m.group(1), set()).update(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", body))
    return out


def grouping_labels(expr: str) -> set[str]:
    """Label names in by/without/on/ignoring/group_* clauses."""
    found: set[str] = set()
    for m in _GROUPING.finditer(_STRING.sub('""', expr)):
        found.update(x.strip() for x in m.group(2).split(",") if x.strip())
    return found


def unknown_references(expr: str) -> list[str]:
    """What an expression names that the code does not export (empty when all is well)."""
    known = known_series()
    problems = [f"metric {n}" for n in sorted(metric_names(expr) - known.keys())]
    used = metric_names(expr) & known.keys()
    for name, labels in matcher_labels(expr).items():
        for label in sorted(labels - known.get(name, labels)):
            problems.append(f"label {label} on {name}")
    allowed = set().union(*(known[n] for n in used)) if used else set()
    problems += [f"grouping label {g}" for g in sorted(grouping_labels(expr) - allowed)]
    return problems


def alert_rules() -> Iterator[dict[str, Any]]:
    """Every rule of deploy/prometheus/alerts.yml."""
    for group in load_yaml(ALERTS)["groups"]:
        yield from group["rules"]


# -- environment of the commands ------------------------------------------------------------


class RecordingEnviron(dict[str, str]):
    """An os.environ stand-in remembering every name looked up."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return super().__contains__(key)


COMMANDS = ("worker", "correlator", "db", "serve", "outreach")


class _RecordingFields(dict[str, Any]):
    """A section's values that remember which settings a command looked up."""

    def __init__(self, section: str, values: dict[str, Any], read: set[tuple[str, str]]) -> None:
        super().__init__(values)
        self.section, self.read = section, read

    def __getitem__(self, key: str) -> Any:
        self.read.add((self.section, key))
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.read.add((self.section, key))
        return super().get(key, default)


class _RecordingSection:
    """A settings section whose fields, read by attribute or through model_dump, are recorded."""

    def __init__(self, section: str, model: Any, read: set[tuple[str, str]]) -> None:
        self._section, self._model, self._read = section, model, read

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        values = self._model.model_dump(**kwargs)
        if self._section == "topics":  # splatted into Topics(**...): every name is used
            self._read.update((self._section, k) for k in values)
        return _RecordingFields(self._section, values, self._read)

    def __getattr__(self, name: str) -> Any:
        if name in type(self._model).model_fields:
            self._read.add((self._section, name))
        return getattr(self._model, name)


def env_read_by(command: str) -> set[str]:
    """FIRSTCALL_* names `firstcall worker|correlator|db upgrade|serve|outreach` read at startup.

    Names read directly are recorded on a stand-in environment; the settings a command looks
    up in monitor/platform/settings.py sections (load_settings walks the whole environment)
    count with their variables, setting by setting.
    """
    recorder = RecordingEnviron()
    fields_read: set[tuple[str, str]] = set()
    lookup = settings_module.Settings.__getitem__

    def recording_getitem(self: settings_module.Settings, section: str) -> Any:
        return _RecordingSection(section, lookup(self, section), fields_read)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "environ", recorder)
        mp.setattr(settings_module.Settings, "__getitem__", recording_getitem)
        parser = argparse.ArgumentParser()
        if command == "db":
            db_cli.add_arguments(parser)
            parser.parse_args(["upgrade"])
        elif command == "serve":
            serve.add_arguments(parser)
            serve.options(parser.parse_args([]))
        elif command == "outreach":
            live_cli.add_arguments(parser)
            live_cli.options_from(parser.parse_args([]))
        else:
            add, group_field = {
                "worker": (cli.add_worker_arguments, "worker_group"),
                "correlator": (cli.add_correlator_arguments, "correlator_group"),
            }[command]
            add(parser)
            cli.settings_from(parser.parse_args([]), group_field)
    from_sections = {env_name(s, f) for s, f in fields_read}
    return {n for n in recorder.read | from_sections if n.startswith("FIRSTCALL_")}


def required_env(command: str) -> set[str]:
    """What a deployment must set for `firstcall <command>` (defaults that are wrong there)."""
    return {n for n in env_read_by(command) - OPTIONAL_ENV if not DEFAULT_IS_FINE.match(n)}


def is_secret_name(name: str) -> bool:
    """An environment variable whose value must not be committed."""
    return bool(SECRET_NAME.search(name))


# -- topics ----------------------------------------------------------------------------------


def script_topics(env: dict[str, str]) -> dict[str, tuple[int, dict[str, str]]]:
    """Topic -> (partitions, configs) from the `create` lines of create-topics.sh."""
    text = TOPICS_SCRIPT.read_text()
    assigned = dict(re.findall(r"^([A-Z_]+)=(\d+)$", text, re.M))
    values = {**assigned, **env}
    topics = {}
    for line in text.splitlines():
        if not line.startswith("create "):
            continue
        words = [
            re.sub(r"\$\{?(\w+)\}?", lambda m: values[m.group(1)], w) for w in shlex.split(line)[1:]
        ]
        name, partitions, rest = words[0], int(words[1]), words[2:]
        configs = dict(v.split("=", 1) for k, v in itertools.pairwise(rest) if k == "--config")
        topics[name] = (partitions, configs)
    return topics


_FIRSTCALL_NAME = re.compile(r"FIRSTCALL_[A-Z0-9_]*")
PRODUCT_PACKAGES = ("monitor", "detectors", "outreach")


def firstcall_names_in_code() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """FIRSTCALL_* names in the product's strings and docstrings -> the files saying them.

    Two maps: whole names, and prefixes (a name ending in `_`, or followed by `*` or `{`:
    `FIRSTCALL_TWILIO_*`, an f-string's `FIRSTCALL_TWILIO_{name}`).
    """
    names: dict[str, set[str]] = {}
    prefixes: dict[str, set[str]] = {}
    for package in PRODUCT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            where = str(path.relative_to(ROOT))
            for node in ast.walk(ast.parse(path.read_text(), where)):
                if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                    continue
                for m in _FIRSTCALL_NAME.finditer(node.value):
                    after = node.value[m.end() : m.end() + 1]
                    prefix = m.group().endswith("_") or after in ("*", "{")
                    (prefixes if prefix else names).setdefault(m.group(), set()).add(where)
    return names, prefixes


def known_env() -> set[str]:
    """Every FIRSTCALL_* name the code reads (a deployment setting another one: a typo)."""
    in_code = set(firstcall_names_in_code()[0])
    thresholds = {
        ENV_PREFIX + f.name.upper() for cls in (DetectionConfig, PolicyConfig) for f in fields(cls)
    }
    read = set().union(*(env_read_by(c) for c in COMMANDS))
    return thresholds | set(all_env_names()) | in_code | read
