"""deploy/grafana: a real dashboard JSON whose every panel queries exported metrics, and
provisioning that points Grafana at it and at the stack's Prometheus."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.support.deploy_support import (
    COMPOSE,
    DASHBOARD,
    DEPLOY,
    alert_rules,
    load_yaml,
    metric_names,
    unknown_references,
)

PROVISIONING = DEPLOY / "grafana" / "provisioning"


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def panels() -> list[dict[str, Any]]:
    return dashboard()["panels"]


def test_dashboard_has_identity_and_a_prometheus_datasource_variable() -> None:
    d = dashboard()
    assert d["uid"] and d["title"] and isinstance(d["schemaVersion"], int)
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"


@pytest.mark.parametrize("panel", panels(), ids=lambda p: p["title"])
def test_panel_has_a_datasource_and_queries(panel: dict[str, Any]) -> None:
    assert panel["datasource"]["type"] == "prometheus"
    assert panel["targets"], "a panel without queries"
    ref_ids = [t["refId"] for t in panel["targets"]]
    assert len(ref_ids) == len(set(ref_ids))
    for target in panel["targets"]:
        assert target["expr"].strip()
        assert target.get("datasource", panel["datasource"])["type"] == "prometheus"


@pytest.mark.parametrize("panel", panels(), ids=lambda p: p["title"])
def test_panel_queries_only_exported_metrics(panel: dict[str, Any]) -> None:
    for target in panel["targets"]:
        assert unknown_references(target["expr"]) == [], target["expr"]


def test_panels_have_unique_ids_and_fit_the_grid() -> None:
    ids = [p["id"] for p in panels()]
    assert len(ids) == len(set(ids))
    for p in panels():
        g = p["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24 and g["h"] > 0, p["title"]


def test_dashboard_shows_what_operations_watch() -> None:
    used: set[str] = set()
    exprs = [t["expr"] for p in panels() for t in p["targets"]]
    for e in exprs:
        used |= metric_names(e)
    assert {
        "firstcall_events_total",
        "firstcall_bad_records_total",
        "firstcall_incidents_total",
        "firstcall_decision_latency_seconds_bucket",
        "firstcall_consumer_lag",
        "firstcall_rebalances_total",
        "firstcall_outreach_decisions_total",
        "firstcall_ready",
        # the outreach service (outreach/contact/metrics.py)
        "firstcall_outreach_live_decisions_total",
        "firstcall_outreach_suppressions_total",
        "firstcall_outreach_attempts_total",
        "firstcall_outreach_outcomes_total",
        "firstcall_outreach_lesson_minutes_lost_total",
        "firstcall_infra_pages_total",
        "firstcall_line_incidents_total",  # one outage, one line incident
        # the desk (monitor/desk/desk_metrics.py)
        "firstcall_queue_depth",
        "firstcall_queue_oldest_wait_seconds",
        "firstcall_queue_breached",
        "firstcall_first_contact_seconds_bucket",
    } <= used
    latency = " ".join(e for e in exprs if "decision_latency" in e)
    for since in ("event", "arrival"):
        for q in ("0.5", "0.99"):
            assert f"histogram_quantile({q}" in latency and f'since="{since}"' in latency
    contact = " ".join(e for e in exprs if "first_contact" in e)
    assert "histogram_quantile(0.5," in contact and "histogram_quantile(0.95," in contact
    attempts = " ".join(e for e in exprs if "outreach_attempts" in e)
    assert "by (channel, status)" in attempts
    assert "by (reason)" in " ".join(e for e in exprs if "outreach_suppressions" in e)


def test_every_scraped_job_has_a_panel_of_its_own() -> None:
    up = " ".join(t["expr"] for p in panels() for t in p["targets"] if "up{" in t["expr"])
    for job in ("firstcall-outreach", "firstcall-serve"):
        assert f'job="{job}"' in up, job


def test_provisioned_datasource_is_the_dashboards_default() -> None:
    (source,) = load_yaml(PROVISIONING / "datasources" / "prometheus.yaml")["datasources"]
    variable = next(v for v in dashboard()["templating"]["list"] if v["name"] == "datasource")
    assert source["type"] == "prometheus"
    assert source["uid"] == variable["current"]["value"]
    assert source["url"] == "http://prometheus:9090"
    assert "prometheus" in load_yaml(COMPOSE)["services"]


def test_dashboard_provider_reads_where_compose_mounts_the_dashboard() -> None:
    (provider,) = load_yaml(PROVISIONING / "dashboards" / "firstcall.yaml")["providers"]
    mounts = load_yaml(COMPOSE)["services"]["grafana"]["volumes"]
    targets = {m.split(":")[1]: m.split(":")[0] for m in mounts}
    path = provider["options"]["path"]
    dashboard_mount = next(t for t in targets if t.startswith(path + "/"))
    assert (DEPLOY / targets[dashboard_mount]).resolve() == DASHBOARD
    assert (DEPLOY / targets["/etc/grafana/provisioning"]).resolve() == PROVISIONING


def test_alerts_named_in_panel_descriptions_exist() -> None:
    alerts = {r["alert"] for r in alert_rules()}
    named = set(re.findall(r"\bFirstCall[A-Z]\w+", DASHBOARD.read_text()))
    assert named and named <= alerts, sorted(named - alerts)
