"""Configuration: one place, defaults < file < environment < --set, clear problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from detectors.config import DetectionConfig
from monitor.cli import main
from monitor.platform.settings import ConfigError, all_env_names, load_settings, markdown_reference
from outreach.decide.decision import PolicyConfig

DOCS = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"


def test_defaults_are_the_contracts_and_come_from_the_detector_classes() -> None:
    s = load_settings(env={})
    assert s.detection_config() == DetectionConfig()
    assert s.policy_config() == PolicyConfig()


def test_environment_beats_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "f.toml"
    cfg.write_text('[detection]\nsilence_ms = 8000\n[kafka]\nbootstrap = "k1:9092"\n')
    s = load_settings(str(cfg), env={"FIRSTCALL_KAFKA_BOOTSTRAP": "k2:9092"})
    assert s.detection_config().silence_ms == 8000
    assert s["kafka"].model_dump()["bootstrap"] == "k2:9092"
    s = load_settings(str(cfg), env={"FIRSTCALL_SILENCE_MS": "7000"}, overrides=["silence_ms=6000"])
    assert s.detection_config().silence_ms == 6000


def test_every_problem_is_listed_with_where_it_came_from(tmp_path: Path) -> None:
    cfg = tmp_path / "f.toml"
    cfg.write_text("[detection]\nsilence = 3\nline_min_share = 1.5\n[kafak]\nx = 1\n")
    with pytest.raises(ConfigError) as err:
        load_settings(str(cfg), env={"FIRSTCALL_CHAT_PORT": "http"})
    text = [str(p) for p in err.value.problems]
    assert any("[kafak]" in t and "did you mean [kafka]" in t for t in text)
    assert any("silence" in t and "did you mean silence_ms" in t for t in text)
    assert any("line_min_share" in t and "less than or equal to 1" in t for t in text)
    assert any(t.startswith("FIRSTCALL_CHAT_PORT='http'") for t in text)


def test_a_misspelt_variable_is_pointed_out() -> None:
    s = load_settings(env={"FIRSTCALL_SILENSE_MS": "5"})
    assert s.warnings == ("FIRSTCALL_SILENSE_MS is not a FirstCall setting "
                          "(did you mean FIRSTCALL_SILENCE_MS?)",)


def test_inconsistent_thresholds_are_refused() -> None:
    with pytest.raises(ConfigError, match="lag_min_degraded"):
        load_settings(env={"FIRSTCALL_LAG_MIN_DEGRADED": "6"})


def test_secrets_are_masked_when_shown() -> None:
    s = load_settings(env={"FIRSTCALL_TWILIO_AUTH_TOKEN": "tok123"})
    assert s.as_dict()["twilio"]["auth_token"] == "***"
    assert s.as_dict(reveal=True)["twilio"]["auth_token"] == "tok123"


def test_every_setting_has_one_distinct_variable_and_a_description() -> None:
    names = all_env_names()
    assert len(names) == len(set(names))
    assert "FIRSTCALL_DB" in names and "FIRSTCALL_KAFKA_BOOTSTRAP" in names
    assert "| `silence_ms` | `FIRSTCALL_SILENCE_MS` | `10000` |" in markdown_reference()
    assert "|  |" not in markdown_reference()


def test_the_configuration_reference_in_docs_is_up_to_date() -> None:
    assert DOCS.read_text().strip() == markdown_reference().strip(), (
        "regenerate with: firstcall config show --markdown > docs/configuration.md")


def test_config_check_exits_1_and_says_what_is_wrong(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRSTCALL_HOLD_OFF_MS", "-1")
    assert main(["config", "check"]) == 1
    err = capsys.readouterr().err
    assert "FIRSTCALL_HOLD_OFF_MS='-1'" in err and "greater than or equal to 0" in err
    monkeypatch.delenv("FIRSTCALL_HOLD_OFF_MS")
    assert main(["config", "check"]) == 0
    assert "configuration OK" in capsys.readouterr().out
