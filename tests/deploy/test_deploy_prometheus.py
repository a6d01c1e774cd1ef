"""deploy/prometheus: promtool accepts the rules and the config, the rules' unit tests pass,
and every alert uses only metrics (and labels) the code exports (workers, outreach, desk)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.deploy_support import (
    DASHBOARD,
    DEPLOY,
    OPERATIONS,
    alert_rules,
    exported_series,
    metric_names,
    unknown_references,
)
from tests.support.services import service_missing

PROMETHEUS_DIR = DEPLOY / "prometheus"


def promtool() -> str:
    path = shutil.which("promtool") or (
        "/usr/bin/promtool" if Path("/usr/bin/promtool").exists() else None
    )
    if path is None:
        service_missing("promtool", "install Debian's prometheus package (make system-deps)")
    return path


def run_promtool(*args: str, cwd: Path = PROMETHEUS_DIR) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_promtool_accepts_the_alert_rules() -> None:
    result = run_promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_scrape_config_and_finds_the_rules() -> None:
    result = run_promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout + result.stderr


def test_alerts_fire_as_their_unit_tests_expect() -> None:
    result = run_promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    exprs = [
        t["expr"].replace("$__rate_interval", "5m")
        for p in json.loads(DASHBOARD.read_text())["panels"]
        for t in p["targets"]
    ]
    rules = [{"record": f"dashboard:query{i}", "expr": e} for i, e in enumerate(exprs)]
    (tmp_path / "dash.yml").write_text(yaml.safe_dump({"groups": [{"name": "d", "rules": rules}]}))
    result = run_promtool("check", "rules", "dash.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_exported_series_follow_the_prometheus_naming_of_each_type() -> None:
    series = exported_series()
    assert "firstcall_events_total" in series and "firstcall_events" not in series
    assert {
        "firstcall_decision_latency_seconds_bucket",
        "firstcall_decision_latency_seconds_sum",
        "firstcall_decision_latency_seconds_count",
    } <= series.keys()
    assert "since" in series["firstcall_decision_latency_seconds_bucket"]
    assert "le" in series["firstcall_decision_latency_seconds_bucket"]
    assert series["firstcall_consumer_lag"] >= {"topic", "partition"}


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('sum by (le) (rate(a_bucket{since="x"}[5m]))', {"a_bucket"}),
        (
            "histogram_quantile(0.99, sum by (le, job) (rate(b_bucket[$__rate_interval])))",
            {"b_bucket"},
        ),
        ('absent(c{job="w"} == 1)', {"c"}),
        ("(sum(rate(d_total[5m])) or vector(0)) == 0 and on (job) e offset 5m", {"d_total", "e"}),
        ("x / ignoring (le) group_left (kind) y > 1e3", {"x", "y"}),
    ],
)
def test_metric_name_extraction(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_a_renamed_metric_or_label_is_reported() -> None:
    assert unknown_references("rate(firstcall_event_total[5m])") == ["metric firstcall_event_total"]
    assert unknown_references('firstcall_bad_records_total{reasons="x"}') == [
        "label reasons on firstcall_bad_records_total"
    ]
    assert unknown_references("sum by (kinds) (firstcall_incidents_total)") == [
        "grouping label kinds"
    ]


@pytest.mark.parametrize("rule", list(alert_rules()), ids=lambda r: r["alert"])
def test_alert_uses_only_exported_metrics(rule: dict[str, str]) -> None:
    assert unknown_references(rule["expr"]) == []


@pytest.mark.parametrize("rule", list(alert_rules()), ids=lambda r: r["alert"])
def test_alert_explains_itself_and_points_at_its_runbook(rule: dict[str, object]) -> None:
    annotations = rule["annotations"]
    labels = rule["labels"]
    assert isinstance(annotations, dict) and isinstance(labels, dict)
    assert annotations["summary"] and annotations["description"]
    assert labels["severity"] in {"warning", "critical", "page"}
    doc, _, anchor = str(annotations["runbook_url"]).partition("#")
    assert doc == "docs/operations.md" and anchor == str(rule["alert"]).lower()
    headings = re.findall(r"^#+\s+(.+?)\s*$", OPERATIONS.read_text(), re.M)
    assert rule["alert"] in headings, f"no runbook heading '{rule['alert']}' in {OPERATIONS}"


def test_the_rules_cover_what_operations_watch() -> None:
    names = set().union(*(metric_names(r["expr"]) for r in alert_rules()))
    assert {
        "firstcall_consumer_lag",
        "firstcall_bad_records_total",
        "firstcall_decision_latency_seconds_bucket",
        "firstcall_incidents_total",
        "firstcall_events_total",
        "firstcall_ready",
        "firstcall_outreach_decisions_total",
        "firstcall_outreach_live_decisions_total",
        "firstcall_outreach_attempts_total",
        "firstcall_infra_pages_total",
        "firstcall_queue_breached",
        "up",
    } <= names


def test_every_alert_has_a_unit_test() -> None:
    tests = yaml.safe_load((PROMETHEUS_DIR / "alerts_test.yml").read_text())["tests"]
    tested = {c["alertname"] for t in tests for c in t.get("alert_rule_test", [])}
    firing = {
        c["alertname"] for t in tests for c in t.get("alert_rule_test", []) if c["exp_alerts"]
    }
    alerts = {r["alert"] for r in alert_rules()}
    assert alerts - tested == set(), "alerts without a unit test"
    assert alerts - firing == set(), "alerts never shown firing in a unit test"


def test_alert_names_are_unique() -> None:
    names = [r["alert"] for r in alert_rules()]
    assert len(names) == len(set(names))


def test_alerts_named_in_the_operations_guide_exist() -> None:
    alerts = {r["alert"] for r in alert_rules()}
    named = set(re.findall(r"\bFirstCall[A-Z]\w+", OPERATIONS.read_text()))
    assert named - alerts == set()
