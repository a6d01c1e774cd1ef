"""Scripts: words by fault, device and language; TwiML with the one-key menu."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

import pytest

from outreach.channels.twilio_twiml import call_twiml, gather_reply_twiml
from outreach.scripts.wording import known_device, language_of, message_text, script_for

FAULTS = ("lag", "disconnect", "flapping", "line")
DEVICES = ("pc", "mac", "ipad", "android_pad", "phone")


@pytest.mark.parametrize(
    ("fault", "device", "language"), list(itertools.product(FAULTS, DEVICES, ("zh-CN", "en")))
)
def test_every_combination_has_a_well_formed_call(fault: str, device: str, language: str) -> None:
    root = ET.fromstring(call_twiml(fault, device, language, gather_action="https://x/g?a=1&b=2"))  # type: ignore[arg-type]
    assert root.tag == "Response"
    says = root.findall(".//Say")
    assert says and all(
        s.get("language") == ("cmn-CN" if language == "zh-CN" else "en-US") for s in says
    )
    gather = root.find("Gather")
    if fault == "line":  # our fault: nothing to press, nothing to do
        assert gather is None
    else:
        assert gather is not None and gather.get("numDigits") == "1"
        assert gather.get("action") == "https://x/g?a=1&b=2"
        assert len(gather.findall("Say")) == 2  # the menu is said twice


def test_mandarin_is_the_default_and_words_follow_fault_and_device() -> None:
    lag_ipad = script_for("lag", "ipad")
    assert lag_ipad.language == "zh-CN"
    assert "卡顿" in lag_ipad.text and "平板" in lag_ipad.text
    assert "按1" in lag_ipad.menu and "按2" in lag_ipad.menu
    drop_pc = script_for("disconnect", "pc", "en")
    assert "drop out" in drop_pc.text and "computer" in drop_pc.text
    assert "press 1" in drop_pc.menu and "press 2" in drop_pc.menu
    assert script_for("lag", "toaster").text == script_for("lag", "pc").text
    assert "您不需要做任何操作" in script_for("line", "phone").text


def test_the_familys_own_device_is_used_and_an_unknown_one_gets_the_computers_words() -> None:
    assert [known_device(d) for d in DEVICES] == list(DEVICES)
    assert [known_device(d) for d in (None, "unknown", "toaster", "")] == ["pc"] * 4


def test_message_text_tells_how_to_reply() -> None:
    assert "好了" in message_text("lag") and "帮忙" in message_text("lag")
    assert "please help" in message_text("flapping", "phone", "en")
    assert "帮忙" not in message_text("line")


def test_language_fallbacks() -> None:
    assert [language_of(x) for x in ("zh", "zh-TW", "en-GB", "fr")] == [
        "zh-CN",
        "zh-CN",
        "en",
        "zh-CN",
    ]


def test_menu_replies() -> None:
    connect = ET.fromstring(gather_reply_twiml("1", queue="techs"))
    assert connect.find("Enqueue") is not None and connect.findtext("Enqueue") == "techs"
    later = ET.fromstring(gather_reply_twiml("2", "en"))
    assert "call you back" in (later.findtext("Say") or "") and later.find("Hangup") is not None
    assert ET.fromstring(gather_reply_twiml("")).find("Hangup") is not None


def test_the_connection_type_chooses_the_advice_so_no_wifi_router_on_cellular() -> None:
    cellular = script_for("lag", "phone", "en", "cellular").text
    assert "Wi-Fi router" not in cellular and "mobile signal is stronger" in cellular
    assert "move the phone" in cellular
    assert "Wi-Fi router" in script_for("lag", "phone", "en", "wifi").text
    assert "Wi-Fi router" in script_for("lag", "phone", "en").text  # unknown: the device's
    assert "network cable" in script_for("lag", "pc", "en", "wired").text
    assert "信号更好" in script_for("lag", "ipad", "zh-CN", "cellular").text
    assert "无线路由器" not in script_for("lag", "ipad", "zh-CN", "cellular").text
    # A drop's advice (open the app again) does not depend on the line.
    assert script_for("disconnect", "phone", "en", "cellular").text == \
        script_for("disconnect", "phone", "en", "wifi").text
