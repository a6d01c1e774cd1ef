"""Settings of the technicians' queue on the phone: longest wait, promise, agents' phones."""

from __future__ import annotations

import argparse

import pytest

from monitor.apps.serve import options
from monitor.platform.settings import ConfigError, load_settings, twilio_settings
from monitor.platform.settings_sections import agent_phone_map

TWILIO = {"FIRSTCALL_TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "t",
          "TWILIO_FROM_NUMBER": "+14155550100"}


def test_agent_phones_parse_and_bad_pairs_are_refused() -> None:
    assert agent_phone_map("ann=+4790000099, bob=+14155550101,") == {
        "ann": "+4790000099", "bob": "+14155550101"}
    assert agent_phone_map("") == {}
    for bad in ("ann", "ann=4790000099", "ann=+47 900", "=+4790000099", "a b=+4790000099"):
        with pytest.raises(ConfigError) as exc:
            load_settings(env={"FIRSTCALL_TWILIO_AGENT_PHONES": bad})
        assert exc.value.problems[0].where.startswith("FIRSTCALL_TWILIO_AGENT_PHONES=")


def test_twilio_settings_carry_the_wait_the_promise_and_the_queue_action_url() -> None:
    st = load_settings(env={**TWILIO, "FIRSTCALL_TWILIO_QUEUE_MAX_WAIT_S": "90",
                            "FIRSTCALL_TWILIO_CALL_BACK_WITHIN_MIN": "20",
                            "FIRSTCALL_TWILIO_RETRY_BUDGET_S": "12"})
    settings = twilio_settings(st.twilio, "https://cb.example/")
    assert settings is not None
    assert (settings.queue_max_wait_s, settings.call_back_within_min) == (90, 20)
    assert settings.queue_action_url == "https://cb.example/twilio/queue-done"
    assert settings.retry_budget_s == 12.0
    with pytest.raises(ConfigError):
        load_settings(env={"FIRSTCALL_TWILIO_QUEUE_MAX_WAIT_S": "0"})


def test_the_desk_is_handed_the_agents_phones() -> None:
    args = argparse.Namespace(config=None, db=None, host=None, port=None, bootstrap=None,
                              log_level=None)
    opts = options(args, {"FIRSTCALL_TWILIO_AGENT_PHONES": "ann=+4790000099"})
    assert dict(opts.agent_phones) == {"ann": "+4790000099"}


def test_the_webhook_key_is_a_secret(capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.cli import main

    monkeypatch.delenv("FIRSTCALL_CONFIG", raising=False)
    monkeypatch.setenv("FIRSTCALL_TWILIO_WEBHOOK_KEY", "key-s3cret")
    assert main(["config", "show"]) == 0
    assert "key-s3cret" not in capsys.readouterr().out
    st = load_settings(env={**TWILIO, "FIRSTCALL_TWILIO_WEBHOOK_KEY": "key-s3cret"})
    settings = twilio_settings(st.twilio)
    assert settings is not None and settings.webhook_key == "key-s3cret"
    assert "key-s3cret" not in repr(settings)
