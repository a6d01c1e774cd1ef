"""deploy/compose.yaml and the topic script: parser checks (the stack cannot start here),
plus the topic script run against a stand-in kafka-topics.sh."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from monitor.cli import SUBCOMMANDS, build_parser
from monitor.platform.kafka_settings import KafkaSettings
from monitor.platform.settings import all_env_names
from monitor.streaming.topics import topic_specs
from tests.support.deploy_support import (
    COMMANDS,
    COMPOSE,
    DEPLOY,
    OPTIONAL_ENV,
    PENDING_COMMANDS,
    TOPICS_SCRIPT,
    env_read_by,
    is_secret_name,
    known_env,
    load_yaml,
    required_env,
    script_topics,
)

ONE_SHOT = {"kafka-init", "migrate", "config-check"}


def services() -> dict[str, dict[str, Any]]:
    return load_yaml(COMPOSE)["services"]


def interpolate(value: str) -> str:
    """Compose's ${NAME:-default} -> default, ${NAME:?error} -> <NAME>, ${NAME} -> ''."""

    def one(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2) or "", m.group(3) or ""
        return arg if op == ":-" else f"<{name}>" if op == ":?" else ""

    return re.sub(r"\$\{(\w+)(:-|:\?)?([^}]*)\}", one, value)


def env(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in (services()[service].get("environment") or {}).items()}


def role(service: dict[str, Any]) -> str | None:
    command = service.get("command") or []
    return command[0] if command and "firstcall" in str(service.get("image")) else None


FIRSTCALL_SERVICES = [n for n, s in services().items() if role(s)]
# The services running a command whose environment the tests know (not `config check`).
COMMAND_SERVICES = [n for n in FIRSTCALL_SERVICES if role(services()[n]) in COMMANDS]


def test_every_service_has_an_image_and_firstcall_ones_build_it() -> None:
    for name, s in services().items():
        assert s.get("image"), name
    for name in FIRSTCALL_SERVICES:
        build = services()[name]["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == (
            DEPLOY / "Dockerfile"
        ), name


def test_the_stack_has_every_part() -> None:
    roles = {role(s) for s in services().values()}
    assert {"worker", "correlator", "serve", "outreach", "db", "config"} <= roles
    assert {"kafka", "kafka-init", "postgres", "prometheus", "grafana"} <= services().keys()
    assert services()["worker"]["deploy"]["replicas"] == 2
    # one outreach process: the chat gateway keeps the families' connections in-process
    assert services()["outreach"].get("deploy", {}).get("replicas", 1) == 1


def test_kafka_runs_in_kraft_mode_without_auto_created_topics() -> None:
    k = env("kafka")
    assert set(k["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "KAFKA_ZOOKEEPER_CONNECT" not in k
    assert k["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert services()["kafka"]["image"].startswith("apache/kafka:")


@pytest.mark.parametrize("name", sorted(set(services()) - ONE_SHOT))
def test_long_running_service_has_a_healthcheck(name: str) -> None:
    check = services()[name].get("healthcheck")
    assert check and check["test"], f"{name} has no healthcheck"


def test_one_shot_jobs_finish_before_their_dependents() -> None:
    for name in ONE_SHOT:
        assert services()[name]["restart"] == "no"
    for name, s in services().items():
        for dep, cond in (s.get("depends_on") or {}).items():
            assert dep in services(), f"{name} depends on unknown {dep}"
            expected = "service_completed_successfully" if dep in ONE_SHOT else "service_healthy"
            assert cond["condition"] == expected, (name, dep)


@pytest.mark.parametrize("name", COMMAND_SERVICES)
def test_every_env_var_the_command_needs_is_set(name: str) -> None:
    missing = required_env(role(services()[name]) or "") - env(name).keys()
    assert not missing, f"{name} lacks {sorted(missing)}"


def test_app_services_start_after_the_migration_and_the_config_check() -> None:
    for name in COMMAND_SERVICES:
        if name in ONE_SHOT:
            continue
        deps = services()[name]["depends_on"]
        assert "config-check" in deps or "migrate" in deps, name
        if role(services()[name]) in {"serve", "outreach"}:
            assert deps["migrate"]["condition"] == "service_completed_successfully", name
    assert "config-check" in services()["migrate"]["depends_on"]


def test_config_check_sees_the_settings_the_services_get() -> None:
    assert services()["config-check"]["command"] == ["config", "check"]
    settings = set(all_env_names())
    checked = env("config-check")
    for name in COMMAND_SERVICES:
        for key, value in env(name).items():
            if key in settings and key not in OPTIONAL_ENV and not is_secret_name(key):
                assert checked.get(key) == value, (name, key)


def test_every_firstcall_variable_set_is_one_the_code_reads() -> None:
    for name in services():
        unknown = {k for k in env(name) if k.startswith("FIRSTCALL_")} - known_env()
        assert not unknown, f"{name} sets {sorted(unknown)}, which nothing reads"


@pytest.mark.parametrize("name", sorted(services()))
def test_no_secret_value_is_written_in_the_file(name: str) -> None:
    for key, value in env(name).items():
        if not is_secret_name(key):
            continue
        assert "${" in value, f"{name}: {key} has a literal value"
        for default in re.findall(r"\$\{\w+:-([^}]*)\}", value):
            assert default == "", f"{name}: {key} defaults to a literal secret"
        # no user:password@ left once the variables are taken out
        assert not re.search(r"://[^/@:]+:[^@]+@", re.sub(r"\$\{[^}]*\}", "", value)), key


def test_workers_and_topic_job_agree_on_the_partitions() -> None:
    init = env("kafka-init")
    for name in COMMAND_SERVICES:
        for key in ("FIRSTCALL_PARTITIONS", "FIRSTCALL_FINDINGS_PARTITIONS"):
            if key in env_read_by(role(services()[name]) or "") or key in env(name):
                assert env(name)[key] == init[key], (name, key)
    for name in ("worker", "correlator"):
        assert "--no-create-topics" in services()[name]["command"], name


def test_topic_script_creates_the_topics_the_workers_use() -> None:
    init = env("kafka-init")
    p, f = int(init["FIRSTCALL_PARTITIONS"]), int(init["FIRSTCALL_FINDINGS_PARTITIONS"])
    settings = KafkaSettings(telemetry_partitions=p, findings_partitions=f)
    expected = {s.name: (s.partitions, s.configs["cleanup.policy"]) for s in topic_specs(settings)}
    created = script_topics(init)
    assert {t: (n, c["cleanup.policy"]) for t, (n, c) in created.items()} == expected
    for topic, (_, configs) in created.items():
        assert int(configs["retention.ms"]) == -1 or int(configs["retention.ms"]) >= 3_600_000, (
            topic
        )


def test_topic_script_is_mounted_into_kafka_init() -> None:
    mounts = services()["kafka-init"]["volumes"]
    source, target = mounts[0].split(":")[:2]
    assert (DEPLOY / source).resolve() == TOPICS_SCRIPT
    assert target in services()["kafka-init"]["entrypoint"]


STUB = """#!/bin/sh
echo "$*" >> "$STUB_STATE.log"
mode=""; topic=""; parts=""
while [ $# -gt 0 ]; do
  case "$1" in
    --create) mode=create ;; --describe) mode=describe ;;
    --topic) topic=$2; shift ;; --partitions) parts=$2; shift ;;
  esac
  shift
done
if [ "$mode" = create ] && ! grep -q "^$topic " "$STUB_STATE" 2>/dev/null; then
  echo "$topic $parts" >> "$STUB_STATE"
fi
if [ "$mode" = describe ]; then
  n=$(grep "^$topic " "$STUB_STATE" | cut -d' ' -f2)
  printf 'Topic: %s\\tTopicId: x\\tPartitionCount: %s\\tReplicationFactor: 1\\n' "$topic" "$n"
fi
"""


def run_script(tmp_path: Path, existing: str = "") -> subprocess.CompletedProcess[str]:
    if shutil.which("sh") is None:
        pytest.skip("no POSIX sh")
    stub = tmp_path / "kafka-topics.sh"
    stub.write_text(STUB)
    stub.chmod(0o755)
    state = tmp_path / "topics"
    state.write_text(existing)
    environment = {
        "PATH": "/usr/bin:/bin",
        "KAFKA_BIN": str(tmp_path),
        "STUB_STATE": str(state),
        "FIRSTCALL_KAFKA_BOOTSTRAP": "kafka:9092",
        "FIRSTCALL_PARTITIONS": "4",
        "FIRSTCALL_FINDINGS_PARTITIONS": "2",
    }
    return subprocess.run(
        ["sh", str(TOPICS_SCRIPT)], env=environment, capture_output=True, text=True, timeout=60
    )


def test_topic_script_creates_each_topic_with_retention(tmp_path: Path) -> None:
    result = run_script(tmp_path)
    assert result.returncode == 0, result.stderr
    created = dict(line.split() for line in (tmp_path / "topics").read_text().splitlines())
    assert created["class.telemetry"] == "4" and created["firstcall.findings"] == "2"
    creates = [x for x in (tmp_path / "topics.log").read_text().splitlines() if "--create" in x]
    assert len(creates) == len(created) == 7
    assert all("--if-not-exists" in c and "retention.ms=" in c for c in creates)


def test_topic_script_refuses_a_topic_with_other_partitions(tmp_path: Path) -> None:
    result = run_script(tmp_path, existing="class.telemetry 3\n")
    assert result.returncode != 0
    assert "class.telemetry has 3 partitions" in result.stderr


def test_prometheus_scrapes_each_process_where_it_serves_metrics() -> None:
    prom = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")
    jobs = {j["job_name"]: j for j in prom["scrape_configs"]}
    for service in ("worker", "correlator", "outreach"):
        (sd,) = jobs[f"firstcall-{service}"]["dns_sd_configs"]
        assert sd["names"] == [service]
        assert str(sd["port"]) == env(service)["FIRSTCALL_PROBE_PORT"]
    # the desk serves /metrics on its HTTP port
    desk = jobs["firstcall-serve"]
    (static,) = desk["static_configs"]
    assert static["targets"] == [f"serve:{interpolate(env('serve')['FIRSTCALL_API_PORT'])}"]
    assert desk.get("metrics_path", "/metrics") == "/metrics"


def test_prometheus_and_grafana_mount_files_that_exist() -> None:
    for name in ("prometheus", "grafana", "kafka-init"):
        for mount in services()[name]["volumes"]:
            source = mount.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), (name, source)
    targets = {m.split(":")[1] for m in services()["prometheus"]["volumes"]}
    assert {"/etc/prometheus/prometheus.yml", "/etc/prometheus/alerts.yml"} <= targets


@pytest.mark.parametrize(
    ("service", "variables", "health"),
    [
        ("serve", ["FIRSTCALL_API_PORT"], "FIRSTCALL_API_PORT"),
        ("outreach", ["FIRSTCALL_CALLBACK_PORT", "FIRSTCALL_CHAT_PORT"], "FIRSTCALL_PROBE_PORT"),
    ],
)
def test_published_ports_and_healthcheck_follow_the_port_variables(
    service: str, variables: list[str], health: str
) -> None:
    ports = [interpolate(env(service)[v]) for v in variables]
    published = [interpolate(p) for p in services()[service]["ports"]]
    assert published == [f"{port}:{port}" for port in ports]
    check = " ".join(services()[service]["healthcheck"]["test"])
    assert health in check and "/healthz" in check


def test_env_example_lists_every_variable_compose_requires() -> None:
    required = set(re.findall(r"\$\{(\w+):\?", COMPOSE.read_text()))
    example = DEPLOY / ".env.example"
    listed = set(re.findall(r"^(\w+)=", example.read_text(), re.M))
    assert required and required <= listed
    assert all(v == "" for v in re.findall(r"^\w+=(.*)$", example.read_text(), re.M))


def test_compose_file_follows_the_compose_specification() -> None:
    # check-jsonschema (a dev dependency) ships the Compose Specification's JSON schema.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", FIRSTCALL_SERVICES)
def test_firstcall_accepts_the_arguments_compose_gives(name: str) -> None:
    command = services()[name]["command"]
    if command[0] in PENDING_COMMANDS:
        return
    assert command[0] in SUBCOMMANDS, f"firstcall has no subcommand {command[0]}"
    build_parser().parse_args(command)
