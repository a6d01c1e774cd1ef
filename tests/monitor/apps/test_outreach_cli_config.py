"""`firstcall outreach` runs with the configured settings: file < env < flags."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from monitor.apps import outreach as live_cli

CONFIG = """
[outreach]
hold_off_ms = 20000
max_calls_per_day = 1
[kafka]
bootstrap = "kafka-a:9092"
topic_prefix = "prod."
[database]
dsn = "postgresql+asyncpg://firstcall@db/firstcall"
[service]
group = "outreach-eu"
callback_port = 9090
public_base_url = "https://support.example.org"
sms_reply_path = "/hooks/sms"
[chat]
port = 9765
secret = "s3cret"
[twilio]
account_sid = "AC00000000000000000000000000000123"
auth_token = "tok"
from_number = "+15550001111"
api_base_url = "http://127.0.0.1:9999"
[probe]
port = 9101
"""


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    live_cli.add_arguments(parser)
    return parser.parse_args(argv)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for var in ("FIRSTCALL_CONFIG", "FIRSTCALL_KAFKA_BOOTSTRAP", "FIRSTCALL_CHAT_SECRET",
                "FIRSTCALL_PROBE_PORT", "FIRSTCALL_TWILIO_ACCOUNT_SID", "TWILIO_ACCOUNT_SID",
                "FIRSTCALL_HOLD_OFF_MS", "FIRSTCALL_DB"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    path = tmp_path / "firstcall.toml"
    path.write_text(CONFIG)
    return str(path)


def test_the_outreach_service_takes_its_sections_from_the_config_file(config: str) -> None:
    kafka, opts = live_cli.options_from(_args(["--config", config]))
    assert kafka.bootstrap == "kafka-a:9092"
    assert kafka.topics.incidents == "prod.support.incidents"
    assert opts.db == "postgresql+asyncpg://firstcall@db/firstcall"
    assert (opts.group, opts.callback_port, opts.sms_reply_path) == ("outreach-eu", 9090,
                                                                    "/hooks/sms")
    assert opts.public_url == "https://support.example.org"
    assert (opts.chat_port, opts.chat_secret, opts.probe_port) == (9765, b"s3cret", 9101)
    assert opts.policy.hold_off_ms == 20000 and opts.policy.max_calls_per_day == 1
    assert opts.twilio is not None
    assert (opts.twilio.account_sid, opts.twilio.api_base_url) == ("AC" + "0" * 29 + "123",
                                                                   "http://127.0.0.1:9999")
    assert opts.twilio.status_callback_url == "https://support.example.org/twilio/status"


def test_environment_and_flags_override_the_file(
    config: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIRSTCALL_HOLD_OFF_MS", "30000")
    monkeypatch.setenv("FIRSTCALL_KAFKA_BOOTSTRAP", "kafka-env:9092")
    kafka, opts = live_cli.options_from(_args(["--config", config, "--callback-port", "8091",
                                               "--set", "max_calls_per_day=3"]))  # fmt: skip
    assert kafka.bootstrap == "kafka-env:9092"
    assert opts.policy.hold_off_ms == 30000
    assert opts.policy.max_calls_per_day == 3
    assert opts.callback_port == 8091


def test_a_bad_configuration_stops_the_service_with_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FIRSTCALL_CONFIG", raising=False)
    path = tmp_path / "bad.toml"
    path.write_text("[service]\ncallback_port = 99999\n[outreach]\nhold_of_ms = 1\n")
    assert live_cli.run(_args(["--config", str(path)])) == 2
    err = capsys.readouterr().err
    assert "callback_port" in err and "did you mean hold_off_ms" in err
