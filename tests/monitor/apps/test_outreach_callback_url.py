"""Live Twilio needs a public https callback URL, or `firstcall outreach` refuses to start.

Issue 15, point 7: without FIRSTCALL_PUBLIC_BASE_URL the URLs handed to Twilio were
`http://0.0.0.0:8090/twilio/...`. A local stand-in (api_base_url on loopback) may use http.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from monitor.apps import outreach as outreach_app
from monitor.apps import serve
from monitor.apps.outreach import options_from
from monitor.cli import build_parser, main

LIVE = {"FIRSTCALL_TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "FIRSTCALL_TWILIO_AUTH_TOKEN": "tok",
        "FIRSTCALL_TWILIO_FROM_NUMBER": "+14155550100"}


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for var in ("FIRSTCALL_CONFIG", "FIRSTCALL_PUBLIC_BASE_URL", "FIRSTCALL_TWILIO_API_BASE_URL",
                "TWILIO_API_BASE_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN",
                "TWILIO_FROM_NUMBER"):
        monkeypatch.delenv(var, raising=False)
    for var, value in LIVE.items():
        monkeypatch.setenv(var, value)
    return monkeypatch


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["outreach", *argv])


@pytest.mark.parametrize("public", [None, "http://support.example.org", "https://0.0.0.0:8090",
                                    "https://127.0.0.1", "support.example.org"])
def test_live_twilio_without_a_public_https_url_refuses_to_start(
        env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], public: str | None,
        tmp_path: Path) -> None:
    if public is not None:
        env.setenv("FIRSTCALL_PUBLIC_BASE_URL", public)
    started: list[object] = []

    async def service(*args: object) -> int:  # stands in for the service: never reached
        started.append(args)
        return 0

    env.setattr(outreach_app, "_main", service)
    assert main(["outreach", "--db", str(tmp_path / "x.db")]) == 2
    assert started == []
    err = capsys.readouterr().err
    assert "configuration problems" in err and "FIRSTCALL_PUBLIC_BASE_URL" in err
    assert main(["config", "check"]) == 1
    assert "public_base_url" in capsys.readouterr().err


def test_a_public_https_url_from_the_settings_or_the_flag_is_used(
        env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _, opts = options_from(parse("--public-url", "https://support.example.org"))
    assert opts.twilio is not None
    assert opts.twilio.status_callback_url == "https://support.example.org/twilio/status"
    env.setenv("FIRSTCALL_PUBLIC_BASE_URL", "https://support.example.org/firstcall")
    _, opts = options_from(parse())
    assert opts.twilio is not None
    assert opts.twilio.gather_action_url == "https://support.example.org/firstcall/twilio/gather"
    assert main(["config", "check"]) == 0
    assert "configuration OK" in capsys.readouterr().out


@pytest.mark.parametrize("standin", ["http://127.0.0.1:9999", "http://localhost:9999",
                                     "http://[::1]:9999"])
def test_a_local_stand_in_may_call_back_over_http(env: pytest.MonkeyPatch, standin: str) -> None:
    env.setenv("FIRSTCALL_TWILIO_API_BASE_URL", standin)
    _, opts = options_from(parse())
    assert opts.twilio is not None and opts.twilio.status_callback_url is not None
    assert opts.twilio.status_callback_url.startswith("http://")
    assert main(["config", "check"]) == 0


def test_without_twilio_no_public_url_is_needed(env: pytest.MonkeyPatch) -> None:
    env.delenv("FIRSTCALL_TWILIO_AUTH_TOKEN")
    _, opts = options_from(parse())
    assert opts.twilio is None
    assert main(["config", "check"]) == 0


def test_the_desk_refuses_live_twilio_without_it_too(env: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    assert main(["serve", "--db", str(tmp_path / "x.db")]) == 2
    assert "FIRSTCALL_PUBLIC_BASE_URL" in capsys.readouterr().err
    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    env.setenv("FIRSTCALL_PUBLIC_BASE_URL", "https://support.example.org")
    opts = serve.options(parser.parse_args([]))
    assert opts.twilio is not None
    assert opts.twilio.status_callback_url == "https://support.example.org/twilio/status"
