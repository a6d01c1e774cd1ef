"""Helpers of the deploy/ tests: paths, YAML, the metrics the code exports, PromQL names,
and the environment variables the worker and correlator commands read."""

from __future__ import annotations

import argparse
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
from monitor.settings import ENV_PREFIX, all_env_names
from monitor.kafka import cli
from monitor.metrics import Metrics
from outreach.cases import db_cli
from outreach.decision import PolicyConfig
from outreach.directory_cli import DB_ENV

ROOT = Path(__file__).resolve().parent.parent
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

# Environment of the commands that do not exist yet (the API/console and the chat gateway have
# no server command): what the deployment must give them.
PLANNED_ENV = {
    "api": {DB_ENV, "FIRSTCALL_KAFKA_BOOTSTRAP", "FIRSTCALL_API_PORT", "FIRSTCALL_CHAT_SECRET"},
    "chat-gateway": {
        DB_ENV,
        "FIRSTCALL_KAFKA_BOOTSTRAP",
        "FIRSTCALL_CHAT_PORT",
        "FIRSTCALL_CHAT_SECRET",
    },
}

# Subcommands the deployment runs that `firstcall` does not list yet (being built; `db` is
# outreach/cases/db_cli.py, not yet in monitor/cli.py).
PENDING_COMMANDS = {"api", "chat-gateway", "db"}

# Optional settings of the planned commands that the deployment passes (hosts, Twilio, the
# public URL Twilio calls back, the image's health-check URL).
PLANNED_OPTIONAL_ENV = {
    "FIRSTCALL_API_HOST",
    "FIRSTCALL_CHAT_HOST",
    "FIRSTCALL_TWILIO_ACCOUNT_SID",
    "FIRSTCALL_TWILIO_AUTH_TOKEN",
    "FIRSTCALL_TWILIO_FROM_NUMBER",
    "FIRSTCALL_PUBLIC_BASE_URL",
    "FIRSTCALL_HEALTH_URL",
}

# Read by the worker/correlator but fine at their defaults in a deployment.
DEFAULT_IS_FINE = re.compile(r"FIRSTCALL_(TOPIC_\w+|CLOCK|PROBE_HOST|LOG_LEVEL)$")
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|SID|DSN|^FIRSTCALL_DB$|API_KEY|PRIVATE)", re.I)


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


# The metric sets the processes export (each a dataclass with a `create(registry)`); when
# another process exports its own (e.g. the outreach runner), add its class here.
METRIC_SOURCES: tuple[Any, ...] = (Metrics,)


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


def env_read_by(command: str) -> set[str]:
    """FIRSTCALL_* names `firstcall worker|correlator|db upgrade` read at startup."""
    recorder = RecordingEnviron()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "environ", recorder)
        parser = argparse.ArgumentParser()
        if command == "db":
            db_cli.add_arguments(parser)
            parser.parse_args(["upgrade"])
        else:
            add, group_field = {
                "worker": (cli.add_worker_arguments, "worker_group"),
                "correlator": (cli.add_correlator_arguments, "correlator_group"),
            }[command]
            add(parser)
            cli.settings_from(parser.parse_args([]), group_field)
    return {n for n in recorder.read if n.startswith("FIRSTCALL_")}


def required_env(command: str) -> set[str]:
    """What a deployment must set for `firstcall <command>` (defaults that are wrong there)."""
    if command in PLANNED_ENV:
        return PLANNED_ENV[command]
    return {n for n in env_read_by(command) if not DEFAULT_IS_FINE.match(n)}


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


def known_env() -> set[str]:
    """Every FIRSTCALL_* name the code reads or will read (a deployment setting another: typo)."""
    in_code = set()
    for package in ("monitor", "detectors", "outreach"):
        for path in (ROOT / package).rglob("*.py"):
            in_code |= set(re.findall(r"[\"'](FIRSTCALL_[A-Z0-9_]+)[\"']", path.read_text()))
    thresholds = {
        ENV_PREFIX + f.name.upper() for cls in (DetectionConfig, PolicyConfig) for f in fields(cls)
    }
    planned = set().union(*PLANNED_ENV.values())
    return (
        thresholds
        | set(all_env_names())
        | in_code
        | planned
        | PLANNED_OPTIONAL_ENV
        | env_read_by("worker")
        | env_read_by("correlator")
    )
