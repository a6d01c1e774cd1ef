"""deploy/k8s: every manifest parses and hangs together (images, probes, resources, labels
and selectors, Services and ports, env the commands need, secrets by reference only, KEDA).

`python -m tests.deploy.test_deploy_k8s` prints monitoring/prometheusrule.yaml from alerts.yml."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.apps import outreach as live_cli
from monitor.cli import SUBCOMMANDS, build_parser
from monitor.platform.kafka_settings import Topics
from tests.support.deploy_support import (
    ALERTS,
    K8S,
    PENDING_COMMANDS,
    ROOT,
    is_secret_name,
    known_env,
    load_yaml,
    load_yaml_all,
    required_env,
    script_topics,
)

KUSTOMIZATIONS = [K8S, K8S / "jobs", K8S / "monitoring"]
LONG_RUNNING = ("Deployment", "StatefulSet", "DaemonSet")


def manifests() -> list[dict[str, Any]]:
    docs = []
    for directory in KUSTOMIZATIONS:
        for name in load_yaml(directory / "kustomization.yaml")["resources"]:
            docs += load_yaml_all(directory / name)
    return docs


def of_kind(*kinds: str) -> list[dict[str, Any]]:
    return [d for d in manifests() if d["kind"] in kinds]


def named(kind: str, name: str) -> dict[str, Any]:
    return next(d for d in of_kind(kind) if d["metadata"]["name"] == name)


def config() -> dict[str, str]:
    return named("ConfigMap", "firstcall-config")["data"]


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    """Init containers and app containers."""
    spec = workload["spec"]["template"]["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def app_container(workload: dict[str, Any]) -> dict[str, Any]:
    """The one container running the workload's command (init containers aside)."""
    (c,) = workload["spec"]["template"]["spec"]["containers"]
    return c


def port_named(container: dict[str, Any], name: str) -> int:
    return next(p["containerPort"] for p in container["ports"] if p["name"] == name)


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"]["labels"]


def container_env(container: dict[str, Any]) -> dict[str, Any]:
    """Name -> value or valueFrom, ConfigMaps in envFrom expanded."""
    env: dict[str, Any] = {}
    for source in container.get("envFrom", []):
        ref = source["configMapRef"]["name"]
        env.update(named("ConfigMap", ref)["data"])
    for item in container.get("env", []):
        env[item["name"]] = item.get("value", item.get("valueFrom"))
    return env


def generated_config_maps() -> set[str]:
    names = set()
    for directory in KUSTOMIZATIONS:
        for gen in load_yaml(directory / "kustomization.yaml").get("configMapGenerator", []):
            names.add(gen["name"])
    return names


WORKLOADS = of_kind(*LONG_RUNNING, "Job")
IDS = [w["metadata"]["name"] for w in WORKLOADS]


def test_every_yaml_file_is_listed_in_its_kustomization() -> None:
    for directory in KUSTOMIZATIONS:
        listed = set(load_yaml(directory / "kustomization.yaml")["resources"])
        present = {p.name for p in directory.glob("*.yaml")} - {"kustomization.yaml"}
        assert listed == present, directory
        assert load_yaml(directory / "kustomization.yaml")["namespace"] == "firstcall"


def test_the_deployments_and_the_jobs_use_the_same_image() -> None:
    images = [load_yaml(d / "kustomization.yaml").get("images") for d in (K8S, K8S / "jobs")]
    assert images[0] and images[0] == images[1]


def test_every_manifest_has_kind_name_and_labels() -> None:
    for doc in manifests():
        assert doc["apiVersion"] and doc["kind"] and doc["metadata"]["name"], doc
        assert (
            doc["metadata"].get("labels", {}).get("app.kubernetes.io/name")
            or doc["kind"] == "Namespace"
        ), doc["metadata"]["name"]


def test_the_manifests_have_every_part() -> None:
    names = {(d["kind"], d["metadata"]["name"]) for d in manifests()}
    assert {
        ("Namespace", "firstcall"),
        ("ConfigMap", "firstcall-config"),
        ("Deployment", "firstcall-worker"),
        ("ScaledObject", "firstcall-worker"),
        ("Deployment", "firstcall-correlator"),
        ("Deployment", "firstcall-serve"),
        ("Service", "firstcall-serve"),
        ("Deployment", "firstcall-outreach"),
        ("Service", "firstcall-outreach-callbacks"),
        ("Service", "firstcall-outreach-chat"),
        ("Job", "firstcall-db-migrate"),
        ("Job", "firstcall-create-topics"),
    } <= names
    assert len(of_kind("PodDisruptionBudget")) >= 4
    assert not [n for n in names if n[1] in {"firstcall-api", "firstcall-chat-gateway"}]


@pytest.mark.parametrize("workload", WORKLOADS, ids=IDS)
def test_images_are_pinned(workload: dict[str, Any]) -> None:
    for c in containers(workload):
        image = c["image"]
        assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), image


@pytest.mark.parametrize("workload", WORKLOADS, ids=IDS)
def test_resources_are_requested_and_memory_limited(workload: dict[str, Any]) -> None:
    for c in containers(workload):
        res = c["resources"]
        assert {"cpu", "memory"} <= res["requests"].keys(), c["name"]
        assert "memory" in res["limits"], c["name"]


@pytest.mark.parametrize("workload", WORKLOADS, ids=IDS)
def test_pods_run_as_non_root_without_privilege_escalation(workload: dict[str, Any]) -> None:
    pod = workload["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    for c in containers(workload):
        assert c["securityContext"]["allowPrivilegeEscalation"] is False
        assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize("workload", of_kind(*LONG_RUNNING), ids=lambda w: w["metadata"]["name"])
def test_long_running_pods_have_probes_on_declared_ports(workload: dict[str, Any]) -> None:
    for c in workload["spec"]["template"]["spec"]["containers"]:
        ports = {p["name"] for p in c["ports"]} | {p["containerPort"] for p in c["ports"]}
        for probe in ("livenessProbe", "readinessProbe"):
            handler = c[probe].get("httpGet") or c[probe].get("tcpSocket")
            assert handler, f"{c['name']}: {probe} has no httpGet/tcpSocket"
            assert handler["port"] in ports, f"{c['name']}: {probe} port {handler['port']}"


@pytest.mark.parametrize("name", ["firstcall-worker", "firstcall-correlator", "firstcall-outreach"])
def test_kafka_processes_probe_healthz_and_readyz_on_the_probe_port(name: str) -> None:
    c = app_container(named("Deployment", name))
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("livenessProbe", "readinessProbe"):
        assert c[probe]["httpGet"]["port"] == "probe"
    assert str(port_named(c, "probe")) == container_env(c)["FIRSTCALL_PROBE_PORT"]
    assert (
        named("Deployment", name)["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 30
    )


def test_outreach_probes_the_port_its_command_serves_probes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `firstcall outreach` serves /healthz, /readyz and /metrics on [probe] port
    # (FIRSTCALL_PROBE_PORT), whose default is 0 (a random free port): it must be set.
    c = app_container(named("Deployment", "firstcall-outreach"))
    port = container_env(c)["FIRSTCALL_PROBE_PORT"]
    assert int(port) > 0
    monkeypatch.setenv("FIRSTCALL_PROBE_PORT", port)
    monkeypatch.delenv("FIRSTCALL_CONFIG", raising=False)
    parser = argparse.ArgumentParser()
    live_cli.add_arguments(parser)
    _, opts = live_cli.options_from(parser.parse_args([]))
    assert opts.probe_port == int(port)


def test_serve_probes_paths_the_web_app_serves() -> None:
    source = ((ROOT / "monitor" / "desk" / "app.py").read_text()
              + (ROOT / "monitor" / "apps" / "serve.py").read_text())

    c = app_container(named("Deployment", "firstcall-serve"))
    for probe in ("livenessProbe", "readinessProbe"):
        path = c[probe]["httpGet"]["path"]
        assert f'Route("{path}"' in source, f"{probe}: the served app has no route {path}"
    readiness = "/readyz" if 'Route("/readyz"' in source else "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == readiness


@pytest.mark.parametrize(
    ("name", "port", "variable"),
    [
        ("firstcall-serve", "http", "FIRSTCALL_API_PORT"),
        ("firstcall-outreach", "callbacks", "FIRSTCALL_CALLBACK_PORT"),
        ("firstcall-outreach", "chat", "FIRSTCALL_CHAT_PORT"),
        ("firstcall-outreach", "probe", "FIRSTCALL_PROBE_PORT"),
    ],
)
def test_servers_listen_where_the_config_says(name: str, port: str, variable: str) -> None:
    c = app_container(named("Deployment", name))
    assert str(port_named(c, port)) == container_env(c)[variable]


@pytest.mark.parametrize(("name", "replicas"), [("firstcall-serve", 2),
                                                ("firstcall-outreach", 1)])
def test_the_desk_runs_two_replicas_and_the_outreach_service_one(name: str,
                                                                 replicas: int) -> None:
    # The chat gateway keeps connections in-process: a second outreach replica would split
    # them. The desk's replicas each follow the whole feed and share queue changes and
    # presence through PostgreSQL (tests/monitor/desk/test_two_desk_replicas.py).
    workload = named("Deployment", name)
    assert workload["spec"]["replicas"] == replicas
    pdb = next(
        p
        for p in of_kind("PodDisruptionBudget")
        if p["spec"]["selector"]["matchLabels"].items() <= pod_labels(workload).items()
    )
    assert "maxUnavailable" in pdb["spec"], "minAvailable: 1 of one replica blocks drains"


def test_outreach_is_replaced_never_doubled_and_serves_callbacks_and_chat() -> None:
    workload = named("Deployment", "firstcall-outreach")
    assert workload["spec"]["strategy"]["type"] == "Recreate"
    targets = {
        s["metadata"]["name"]: {p["targetPort"] for p in s["spec"]["ports"]}
        for s in of_kind("Service")
        if s["spec"]["selector"].items() <= pod_labels(workload).items()
    }
    assert targets == {
        "firstcall-outreach-callbacks": {"callbacks"},
        "firstcall-outreach-chat": {"chat"},
    }


@pytest.mark.parametrize("workload", of_kind(*LONG_RUNNING), ids=lambda w: w["metadata"]["name"])
def test_selector_matches_the_pod_labels(workload: dict[str, Any]) -> None:
    selector = workload["spec"]["selector"]["matchLabels"]
    assert selector and selector.items() <= pod_labels(workload).items()


def selects(selector: dict[str, str]) -> list[dict[str, Any]]:
    return [w for w in of_kind(*LONG_RUNNING) if selector.items() <= pod_labels(w).items()]


@pytest.mark.parametrize("service", of_kind("Service"), ids=lambda s: s["metadata"]["name"])
def test_service_selects_pods_that_have_its_target_ports(service: dict[str, Any]) -> None:
    (workload,) = selects(service["spec"]["selector"])
    declared = app_container(workload)["ports"]
    ports = {p.get("name") for p in declared} | {p["containerPort"] for p in declared}
    for p in service["spec"]["ports"]:
        assert p["targetPort"] in ports


@pytest.mark.parametrize("pdb", of_kind("PodDisruptionBudget"), ids=lambda p: p["metadata"]["name"])
def test_disruption_budget_covers_one_deployment(pdb: dict[str, Any]) -> None:
    assert len(selects(pdb["spec"]["selector"]["matchLabels"])) == 1
    assert ("maxUnavailable" in pdb["spec"]) != ("minAvailable" in pdb["spec"])


ROLES = {
    "firstcall-worker": "worker",
    "firstcall-correlator": "correlator",
    "firstcall-serve": "serve",
    "firstcall-outreach": "outreach",
    "firstcall-db-migrate": "db",
}


@pytest.mark.parametrize(("name", "command"), ROLES.items())
def test_every_env_var_the_command_needs_is_provided(name: str, command: str) -> None:
    kind = "Job" if name.endswith("migrate") else "Deployment"
    c = app_container(named(kind, name))
    assert c["args"][0] == command
    missing = required_env(command) - container_env(c).keys()
    assert not missing, f"{name} lacks {sorted(missing)}"


@pytest.mark.parametrize("name", [n for n in ROLES if not n.endswith("migrate")])
def test_config_check_runs_first_with_the_apps_config(name: str) -> None:
    workload = named("Deployment", name)
    inits = workload["spec"]["template"]["spec"].get("initContainers", [])
    (check,) = [c for c in inits if c["args"] == ["config", "check"]]
    assert check["image"] == app_container(workload)["image"]
    assert check["envFrom"] == app_container(workload)["envFrom"]


def test_every_firstcall_variable_set_is_one_the_code_reads() -> None:
    for workload in WORKLOADS:
        for c in containers(workload):
            unknown = {k for k in container_env(c) if k.startswith("FIRSTCALL_")} - known_env()
            assert not unknown, f"{c['name']} sets {sorted(unknown)}, which nothing reads"


@pytest.mark.parametrize("workload", WORKLOADS, ids=IDS)
def test_firstcall_accepts_the_arguments_the_deployment_gives(workload: dict[str, Any]) -> None:
    for c in containers(workload):
        if not c["image"].startswith("firstcall:"):
            continue
        args = c["args"]
        if args[0] in PENDING_COMMANDS:
            continue
        assert args[0] in SUBCOMMANDS, f"firstcall has no subcommand {args[0]}"
        build_parser().parse_args(args)


def test_config_map_holds_no_secret() -> None:
    for doc in of_kind("ConfigMap"):
        assert not [k for k in doc.get("data", {}) if is_secret_name(k)], doc["metadata"]["name"]


def test_no_secret_manifest_and_secrets_only_by_reference() -> None:
    assert not of_kind("Secret"), "Secrets are created out of band, never committed"
    for workload in WORKLOADS:
        for c in containers(workload):
            for item in c.get("env", []):
                if is_secret_name(item["name"]):
                    assert "value" not in item, f"{c['name']}: {item['name']} inline"
                    assert item["valueFrom"]["secretKeyRef"]["name"], item["name"]


def test_config_maps_referenced_exist() -> None:
    known = {d["metadata"]["name"] for d in of_kind("ConfigMap")} | generated_config_maps()
    for workload in WORKLOADS:
        for c in containers(workload):
            for source in c.get("envFrom", []):
                assert source["configMapRef"]["name"] in known
        for volume in workload["spec"]["template"]["spec"].get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in known


def test_jobs_run_once_and_the_topic_job_runs_the_topic_script() -> None:
    for job in of_kind("Job"):
        assert job["spec"]["template"]["spec"]["restartPolicy"] in {"Never", "OnFailure"}
        assert job["spec"]["backoffLimit"] >= 1
    (c,) = containers(named("Job", "firstcall-create-topics"))
    assert c["command"][-1] == "/scripts/create-topics.sh"
    gens = load_yaml(K8S / "jobs" / "kustomization.yaml")["configMapGenerator"]
    assert {"name": "firstcall-create-topics", "files": ["create-topics.sh"]} in gens


def test_topic_partitions_in_the_config_are_those_the_script_creates() -> None:
    topics = script_topics(config())
    assert topics[Topics().telemetry][0] == int(config()["FIRSTCALL_PARTITIONS"])
    assert topics[Topics().findings][0] == int(config()["FIRSTCALL_FINDINGS_PARTITIONS"])
    assert int(config()["KAFKA_REPLICATION_FACTOR"]) >= 3


def test_keda_scales_the_worker_on_its_consumer_group_lag() -> None:
    scaled = named("ScaledObject", "firstcall-worker")
    worker = named("Deployment", scaled["spec"]["scaleTargetRef"]["name"])
    assert "replicas" not in worker["spec"], "the autoscaler owns the replica count"
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "kafka"
    meta = trigger["metadata"]
    env = container_env(app_container(worker))
    assert env[meta["consumerGroupFromEnv"]] == config()["FIRSTCALL_WORKER_GROUP"]
    assert env[meta["bootstrapServersFromEnv"]] == config()["FIRSTCALL_KAFKA_BOOTSTRAP"]
    assert meta["topic"] == Topics().telemetry
    # KEDA counts lag of uncommitted partitions from where the workers start reading.
    worker_source = (ROOT / "monitor" / "streaming" / "worker.py").read_text()
    assert f'auto_offset_reset="{meta["offsetResetPolicy"]}"' in worker_source
    assert int(meta["lagThreshold"]) > 0
    spec = scaled["spec"]
    assert 2 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
    assert spec["maxReplicaCount"] == int(config()["FIRSTCALL_PARTITIONS"])


def test_pod_monitor_scrapes_the_probe_port_with_the_alerts_job_names() -> None:
    monitor = named("PodMonitor", "firstcall")
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    job_label = monitor["spec"]["jobLabel"]
    jobs = set()
    for name in ("firstcall-worker", "firstcall-correlator", "firstcall-outreach"):
        workload = named("Deployment", name)
        labels = pod_labels(workload)
        expr = monitor["spec"]["selector"]["matchExpressions"][0]
        assert labels[expr["key"]] in expr["values"]
        assert endpoint["port"] in {p["name"] for p in app_container(workload)["ports"]}
        jobs.add(labels[job_label])
    assert jobs == {"firstcall-worker", "firstcall-correlator", "firstcall-outreach"}
    for job in jobs | {"firstcall-serve"}:
        assert job in ALERTS.read_text(), job


def test_desk_pod_monitor_scrapes_its_http_port() -> None:
    monitor = named("PodMonitor", "firstcall-serve")
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    (workload,) = selects(monitor["spec"]["selector"]["matchLabels"])
    assert workload["metadata"]["name"] == "firstcall-serve"
    assert endpoint["port"] == "http" and endpoint["path"] == "/metrics"
    assert 'Route("/metrics"' in (ROOT / "monitor" / "desk" / "app.py").read_text()
    assert pod_labels(workload)[monitor["spec"]["jobLabel"]] == "firstcall-serve"


def render_prometheus_rule() -> dict[str, Any]:
    """The PrometheusRule carrying alerts.yml's groups."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "firstcall",
            "labels": {
                "app.kubernetes.io/name": "firstcall",
                "app.kubernetes.io/part-of": "firstcall",
            },
        },
        "spec": {"groups": load_yaml(ALERTS)["groups"]},
    }


def test_prometheus_rule_carries_exactly_the_alert_rules() -> None:
    rule = named("PrometheusRule", "firstcall")
    assert rule["spec"] == render_prometheus_rule()["spec"], (
        "regenerate: .venv/bin/python -m tests.deploy.test_deploy_k8s"
    )


HEADER = """\
# GENERATED from deploy/prometheus/alerts.yml (the source of truth); the test
# tests/deploy/test_deploy_k8s.py fails when they differ. Regenerate with:
#   .venv/bin/python -m tests.deploy.test_deploy_k8s > deploy/k8s/monitoring/prometheusrule.yaml
"""


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def main(out: Path | None = None) -> None:
    text = HEADER + yaml.dump(render_prometheus_rule(), Dumper=_Dumper, sort_keys=False, width=100)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text)


if __name__ == "__main__":
    main()
