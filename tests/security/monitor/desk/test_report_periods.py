"""Report periods: absurd numbers are a short 400 (desk) or a short error (CLI), never a 500."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli import main
from monitor.report_format import parse_since
from tests.support.desk_api import DeskClient
from tests.support.desk_scenario import T0

NOW = T0 + 3_600_000


HUGE = ["9" * 400 + "d", "9" * 100_000 + "d", "9" * 30, "9" * 5000, "1e999d",
        "9999999999999999999999s", "-5", "99999-01-01", "١٢٣", "²"]


@pytest.mark.parametrize("text", HUGE, ids=lambda t: t[:12])
def test_absurd_periods_are_a_short_value_error(text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_since(text, NOW)
    assert len(str(info.value)) < 200


def test_sane_periods_still_read() -> None:
    assert parse_since("36500d", NOW) == NOW - 36500 * 86_400_000
    assert parse_since("1.5h", NOW) == NOW - 5_400_000
    assert parse_since("0", NOW) == 0


@pytest.mark.parametrize("param", ["since", "until"])
@pytest.mark.parametrize("text", ["9" * 400 + "d", "9" * 60_000, "9" * 25])
async def test_the_desk_answers_400_briefly_to_absurd_periods(
        api: DeskClient, param: str, text: str) -> None:
    for path in ("/api/reports", "/api/reports.csv"):
        r = await api.http.get(path, params={param: text}, headers=api.auth("olga"))
        assert (r.status_code, r.json()["error"]) == (400, "bad_since")
        assert len(r.content) < 300
        assert r.headers["x-content-type-options"] == "nosniff"


def test_the_cli_says_what_is_wrong_without_a_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for text in ("9" * 400 + "d", "9" * 100_000):
        assert main(["report", "--since", text, "--db", str(tmp_path / "x.db")]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and len(err) < 300
