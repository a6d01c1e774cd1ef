"""`config check` refuses a Twilio account SID or caller id of the wrong shape (issue 15, 11)."""

from __future__ import annotations

import pytest

from monitor.cli import main
from monitor.platform.settings import ConfigError, load_settings

SID = "AC" + "0123456789abcdef" * 2
SERVICE = "MG" + "0123456789ABCDEF" * 2


@pytest.mark.parametrize("sid", ["AC1", "ac" + "0" * 32, "AC" + "0" * 31, "AC" + "g" * 32,
                                 "SK" + "0" * 32, SID + "0", " " + SID])
def test_an_account_sid_must_be_ac_and_32_hex(sid: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(env={"FIRSTCALL_TWILIO_ACCOUNT_SID": sid})
    (problem,) = exc.value.problems
    assert problem.where.startswith("FIRSTCALL_TWILIO_ACCOUNT_SID=")
    assert "AC followed by 32 hex digits" in problem.message


@pytest.mark.parametrize("number", ["4155550100", "+1415", "+1234567890123456", "+1 415 555 0100",
                                    "14155550100", "MG123", "PN" + "0" * 32, "+"])
def test_a_from_number_must_be_e164_or_a_messaging_service(number: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(env={"TWILIO_FROM_NUMBER": number})
    (problem,) = exc.value.problems
    assert problem.where.startswith("TWILIO_FROM_NUMBER=")
    assert "E.164" in problem.message and "Messaging Service SID" in problem.message


@pytest.mark.parametrize("number", ["+14155550100", "+4721000000", "+12345678", SERVICE, ""])
def test_good_shapes_and_unset_pass(number: str) -> None:
    st = load_settings(env={"FIRSTCALL_TWILIO_ACCOUNT_SID": SID,
                            "FIRSTCALL_TWILIO_FROM_NUMBER": number})
    assert (st.twilio.account_sid, st.twilio.from_number) == (SID, number)


def test_config_check_names_the_variable(capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIRSTCALL_CONFIG", raising=False)
    monkeypatch.setenv("FIRSTCALL_TWILIO_ACCOUNT_SID", "AC1")
    monkeypatch.setenv("FIRSTCALL_TWILIO_FROM_NUMBER", "4155550100")
    assert main(["config", "check"]) == 1
    err = capsys.readouterr().err
    assert "2 problem(s)" in err
    assert "FIRSTCALL_TWILIO_ACCOUNT_SID='AC1': not a Twilio account SID" in err
    assert "FIRSTCALL_TWILIO_FROM_NUMBER='4155550100': not a caller id" in err
