"""`firstcall config show` masks secrets inside URL-shaped settings (issue 15, point 14)."""

from __future__ import annotations

import json

import pytest

from monitor.cli import main
from monitor.platform.secret_urls import mask_url
from monitor.platform.settings import ConfigError, load_settings, markdown_reference

DSN = "postgresql+asyncpg://firstcall:pg-s3cret@db.internal:5432/firstcall?sslmode=require"
PAGER = "https://pager.example/hook?key=pager-s3cret&team=infra&access_token=tok-s3cret"


def test_a_dsn_password_and_secret_query_values_are_masked() -> None:
    assert mask_url(DSN) == (
        "postgresql+asyncpg://firstcall:***@db.internal:5432/firstcall?sslmode=require")
    assert mask_url(PAGER) == "https://pager.example/hook?key=***&team=infra&access_token=***"
    assert mask_url("https://h/x?sig=a&Signature=b&password=c&secret=d&page=2") == (
        "https://h/x?sig=***&Signature=***&password=***&secret=***&page=2")
    assert mask_url("https://hook-token@h/x") == "https://***@h/x"
    for plain in ("sqlite+aiosqlite:///var/x.db", "/var/x.db", "postgresql://u@h/d",
                  "https://h/x?page=2", "127.0.0.1:9092"):
        assert mask_url(plain) == plain


def test_config_show_prints_no_secret(capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRSTCALL_DB", DSN)
    monkeypatch.setenv("FIRSTCALL_PAGE_URL", PAGER)
    monkeypatch.delenv("FIRSTCALL_CONFIG", raising=False)
    assert main(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert "s3cret" not in out
    shown = json.loads(out)
    assert shown["database"]["dsn"].startswith("postgresql+asyncpg://firstcall:***@db.internal")
    page = shown["service"]["page_url"]
    assert "key=***" in page and "team=infra" in page
    assert main(["config", "show", "--markdown"]) == 0
    assert "s3cret" not in capsys.readouterr().out
    assert "s3cret" not in markdown_reference()
    revealed = load_settings(env={"FIRSTCALL_DB": DSN}).as_dict(reveal=True)
    assert revealed["database"]["dsn"] == DSN


def test_a_problem_does_not_echo_a_secret() -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(env={"FIRSTCALL_PAGE_URL": PAGER,
                           "FIRSTCALL_API_PORT": "https://u:pw-s3cret@h/?token=t-s3cret"})
    assert "s3cret" not in str(exc.value)
