"""`firstcall worker` and `correlator` run with the configured settings: file < env < flags."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from monitor.apps import kafka_jobs as cli
from monitor.platform.metrics import Metrics
from monitor.streaming.correlator import CorrelatorWorker
from monitor.streaming.detect import DetectProcessor

CONFIG = """
[detection]
silence_ms = 8000
lateness_ms = 3000
[outreach]
hold_off_ms = 45000
[kafka]
bootstrap = "kafka-a:9092"
worker_group = "school-workers"
telemetry_partitions = 12
topic_prefix = "prod."
max_batch = 2000
record_path = "stock"
gc_threshold = 20000
fetch_handoff = false
[topics]
incidents = "support.incidents.v2"
[probe]
port = 9200
[logging]
level = "warning"
"""


def _args(kind: str, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    if kind == "worker":
        cli.add_worker_arguments(parser)
    else:
        cli.add_correlator_arguments(parser)
    return parser.parse_args(argv)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for var in ("FIRSTCALL_CONFIG", "FIRSTCALL_KAFKA_BOOTSTRAP", "FIRSTCALL_SILENCE_MS",
                "FIRSTCALL_PROBE_PORT", "FIRSTCALL_TOPIC_PREFIX"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    path = tmp_path / "firstcall.toml"
    path.write_text(CONFIG)
    return str(path)


def test_the_worker_takes_every_section_of_the_config_file(config: str) -> None:
    opts = cli.job_options(_args("worker", ["--config", config]), "worker_group")
    k = opts.kafka
    assert (k.bootstrap, k.worker_group, k.telemetry_partitions) == ("kafka-a:9092",
                                                                     "school-workers", 12)
    assert (k.max_batch, k.record_path, k.gc_threshold) == (2000, "stock", 20000)
    assert k.fetch_handoff is False
    assert k.topics.telemetry == "prod.class.telemetry"
    assert k.topics.incidents == "prod.support.incidents.v2"
    assert opts.detection.silence_ms == 8000
    assert opts.lateness_ms == 3000, "the live clock's lateness is the detection setting"
    assert opts.policy.hold_off_ms == 45000
    assert (opts.probe_host, opts.probe_port, opts.log_level) == ("0.0.0.0", 9200, "warning")


def test_environment_beats_the_file_and_flags_beat_both(
    config: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIRSTCALL_KAFKA_BOOTSTRAP", "kafka-env:9092")
    monkeypatch.setenv("FIRSTCALL_SILENCE_MS", "9000")
    monkeypatch.setenv("FIRSTCALL_PROBE_PORT", "9300")
    opts = cli.job_options(_args("worker", ["--config", config]), "worker_group")
    assert opts.kafka.bootstrap == "kafka-env:9092"
    assert opts.detection.silence_ms == 9000
    assert opts.probe_port == 9300
    flags = ["--config", config, "--bootstrap", "kafka-flag:9092", "--probe-port", "-1",
             "--set", "silence_ms=7000", "--group", "g2", "--lateness-ms", "1000",
             "--gc-threshold", "0", "--fetch-handoff"]  # fmt: skip
    opts = cli.job_options(_args("worker", flags), "worker_group")
    assert opts.kafka.gc_threshold == 0, "0 keeps Python's own collector settings"
    assert opts.kafka.fetch_handoff is True, "the flag beats the file's false"
    assert opts.kafka.bootstrap == "kafka-flag:9092"
    assert opts.detection.silence_ms == 7000
    assert (opts.probe_port, opts.kafka.worker_group, opts.lateness_ms) == (-1, "g2", 1000)


def test_the_config_file_can_come_from_the_environment(
    config: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIRSTCALL_CONFIG", config)
    opts = cli.job_options(_args("correlator", []), "correlator_group")
    assert opts.kafka.bootstrap == "kafka-a:9092"


async def test_the_workers_detectors_and_policy_use_the_configured_thresholds(config: str) -> None:
    opts = cli.job_options(_args("worker", ["--config", config]), "worker_group")
    worker = cli.worker_from(opts, Metrics.create())
    proc = worker.factory(0)
    assert isinstance(proc, DetectProcessor)
    assert proc.engine.cfg.silence_ms == 8000
    assert proc.policy.config.hold_off_ms == 45000
    assert worker.lateness_ms == 3000
    assert worker.lean is False, "record_path = stock in the file"


async def test_the_correlator_uses_the_configured_line_thresholds(
    config: str, tmp_path: Path
) -> None:
    path = tmp_path / "line.toml"
    path.write_text("[detection]\nline_min_sessions = 9\n")
    opts = cli.job_options(_args("correlator", ["--config", str(path)]), "correlator_group")
    corr = CorrelatorWorker(opts.kafka, Metrics.create(), opts.detection)
    assert corr.detection.line_min_sessions == 9


def test_a_bad_configuration_stops_the_worker_with_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FIRSTCALL_CONFIG", raising=False)
    path = tmp_path / "bad.toml"
    path.write_text('[kafka]\nclock = "sundial"\n[detection]\nsilence = 3\n')
    assert cli.main(["worker", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "configuration problems" in err
    assert "clock" in err and "silence" in err and "did you mean silence_ms" in err
