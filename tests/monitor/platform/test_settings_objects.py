"""What the jobs are handed is built from the settings sections: typed, one source, no drift."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

from monitor.apps import serve
from monitor.platform.kafka_settings import KafkaSettings, Topics
from monitor.platform.settings import (
    KafkaSection,
    TopicsSection,
    TwilioSection,
    config_path,
    database_dsn,
    load_settings,
    twilio_settings,
)

SID = "AC" + "1" * 32


def test_the_runtime_defaults_are_the_settings_defaults() -> None:
    kafka = [f.name for f in fields(KafkaSettings) if f.name in KafkaSection.model_fields]
    built = KafkaSettings.from_sections(KafkaSection.defaults(), TopicsSection.defaults(), kafka)
    assert built == KafkaSettings()
    assert Topics() == Topics.from_section(TopicsSection.defaults())


def test_kafka_settings_take_the_sections_the_prefix_and_then_the_flags() -> None:
    st = load_settings(env={"FIRSTCALL_KAFKA_BOOTSTRAP": "k:9092", "FIRSTCALL_TOPIC_PREFIX": "p.",
                            "FIRSTCALL_TOPIC_INCIDENTS": "inc", "FIRSTCALL_KAFKA_MAX_BATCH": "7"})
    s = KafkaSettings.from_sections(st.kafka, st.topics, ["max_batch"], clock=None,
                                    bootstrap="flag:9092")
    assert (s.bootstrap, s.max_batch, s.clock) == ("flag:9092", 7, "wall")
    assert (s.topics.incidents, s.topics.telemetry) == ("p.inc", "p.class.telemetry")
    unused = KafkaSettings.from_sections(st.kafka, st.topics)
    assert unused.max_batch == KafkaSettings().max_batch, "only the settings a job names"
    assert KafkaSettings.from_sections(st.kafka, st.topics, topic_prefix="").topics.dlq == (
        "class.telemetry.dlq")


def test_sections_are_typed_objects() -> None:
    st = load_settings(env={"FIRSTCALL_CHAT_PORT": "9000"})
    assert isinstance(st.kafka, KafkaSection) and isinstance(st.twilio, TwilioSection)
    assert st.chat.port == 9000 and isinstance(st.chat.port, int)


def test_twilio_is_built_from_its_section_only_with_an_account_and_caller_id() -> None:
    assert twilio_settings(TwilioSection.defaults()) is None
    assert twilio_settings(TwilioSection.model_validate({"account_sid": SID})) is None
    st = load_settings(env={"FIRSTCALL_TWILIO_ACCOUNT_SID": SID,
                            "FIRSTCALL_TWILIO_AUTH_TOKEN": "tok",
                            "FIRSTCALL_TWILIO_FROM_NUMBER": "+14155550100"})
    tw = twilio_settings(st.twilio, "https://x.example/")
    assert tw is not None and (tw.account_sid, tw.auth_token) == (SID, "tok")
    assert tw.status_callback_url == "https://x.example/twilio/status"
    assert tw.gather_action_url == "https://x.example/twilio/gather"
    bare = twilio_settings(st.twilio)
    assert bare is not None and bare.status_callback_url is None


def test_twilios_own_names_are_read_below_ours_and_above_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "f.toml"
    file_sid, alias, ours = ("AC" + c * 32 for c in "fab")
    cfg.write_text(f'[twilio]\naccount_sid = "{file_sid}"\nfrom_number = "+15555550100"\n')
    st = load_settings(str(cfg), env={"TWILIO_ACCOUNT_SID": alias,
                                      "TWILIO_AUTH_TOKEN": "tok"})
    assert (st.twilio.account_sid, st.twilio.auth_token.get_secret_value()) == (alias, "tok")
    st = load_settings(str(cfg), env={"TWILIO_ACCOUNT_SID": alias,
                                      "FIRSTCALL_TWILIO_ACCOUNT_SID": ours})
    assert st.twilio.account_sid == ours and st.twilio.from_number == "+15555550100"
    assert load_settings(env={"TWILIO_ACCOUNT_SID": SID}).warnings == ()


def test_variables_that_are_not_settings_are_not_taken_for_typos() -> None:
    env = {"FIRSTCALL_CONFIG": "", "FIRSTCALL_PURE_PYTHON": "1", "FIRSTCALL_HEALTH_URL": "x"}
    assert load_settings(env=env).warnings == ()


def test_the_config_file_and_database_can_be_named_by_their_variables_alone() -> None:
    assert config_path({}) is None and config_path({"FIRSTCALL_CONFIG": "a.toml"}) == "a.toml"
    assert database_dsn({}) == load_settings(env={}).database.dsn
    assert database_dsn({"FIRSTCALL_DB": "postgresql://db/x"}) == "postgresql://db/x"


def _serve_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    return parser.parse_args(["--config", "", *argv])


def test_the_desk_follows_kafka_only_when_a_bootstrap_is_configured(tmp_path: Path) -> None:
    assert serve.options(_serve_args(), env={}).bootstrap is None
    env = {"FIRSTCALL_KAFKA_BOOTSTRAP": "k:9092", "FIRSTCALL_TOPIC_PREFIX": "prod."}
    opts = serve.options(_serve_args(), env=env)
    assert opts.bootstrap == "k:9092" and opts.topics.incidents == "prod.support.incidents"
    cfg = tmp_path / "f.toml"
    cfg.write_text('[kafka]\nbootstrap = "file:9092"\n')
    assert serve.options(_serve_args("--config", str(cfg)), env={}).bootstrap == "file:9092"
    assert serve.options(_serve_args("--bootstrap", "f:1"), env=env).bootstrap == "f:1"
