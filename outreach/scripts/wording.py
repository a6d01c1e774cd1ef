# ruff: noqa: RUF001  (Chinese text uses full-width punctuation on purpose)
"""What FirstCall says (pure): calm, caregiver-friendly words by fault, device and language.

Mandarin (zh-CN) is the default; English (en) is available. The same words feed the
phone call (as TwiML with a one-key menu), the SMS (answered with one digit) and the
in-app chat message (answered in words).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

Fault = Literal["lag", "disconnect", "flapping", "line"]
Device = Literal["pc", "mac", "ipad", "android_pad", "phone"]
DEVICES: Final[tuple[Device, ...]] = get_args(Device)
Language = Literal["zh-CN", "en"]
DEFAULT_LANGUAGE: Final[Language] = "zh-CN"
DEFAULT_QUEUE: Final = "firstcall-technicians"

# Twilio <Say>: Mandarin is "cmn-CN" for the Amazon Polly voices.
SAY: Final[dict[Language, tuple[str, str]]] = {
    "zh-CN": ("cmn-CN", "Polly.Zhiyu"),
    "en": ("en-US", "Polly.Joanna"),
}

GREETING: Final[dict[Language, str]] = {
    "zh-CN": "您好，这里是孩子网课的技术支持。",
    "en": "Hello, this is technical support for your child's online class.",
}

FAULT_TEXT: Final[dict[Language, dict[Fault, str]]] = {
    "zh-CN": {
        "lag": "我们看到孩子的课堂画面有些卡顿。",
        "disconnect": "我们看到孩子刚才从课堂掉线了。",
        "flapping": "我们看到孩子的课堂连接时断时续。",
        "line": "我们这边的线路出了点问题，技术人员正在处理，您不需要做任何操作。",
    },
    "en": {
        "lag": "We saw the class stutter on your child's screen.",
        "disconnect": "We saw your child drop out of the class just now.",
        "flapping": "We saw your child's class connection keep dropping in and out.",
        "line": (
            "There is a problem on our side, and our engineers are fixing it. "
            "You do not need to do anything."
        ),
    },
}

_TABLET_ZH = "可以让平板离无线路由器近一些。"
_TABLET_EN = "It may help to move the tablet closer to the Wi-Fi router."
DEVICE_HINT: Final[dict[Language, dict[Device, dict[str, str]]]] = {
    "zh-CN": {
        "pc": {
            "slow": "可以先关掉电脑上其他在播放视频或下载的窗口。",
            "drop": "如果上课窗口关掉了，请在电脑上重新打开上课软件。",
        },
        "mac": {
            "slow": "可以先关掉电脑上其他在播放视频或下载的窗口。",
            "drop": "如果上课窗口关掉了，请在电脑上重新打开上课软件。",
        },
        "ipad": {"slow": _TABLET_ZH, "drop": "如果上课软件退出了，请在平板上再点一下它的图标。"},
        "android_pad": {
            "slow": _TABLET_ZH,
            "drop": "如果上课软件退出了，请在平板上再点一下它的图标。",
        },
        "phone": {
            "slow": "可以让手机离无线路由器近一些。",
            "drop": "如果上课软件退出了，请在手机上再点一下它的图标。",
        },
    },
    "en": {
        "pc": {
            "slow": "It may help to close other windows on the computer that play video.",
            "drop": "If the class window closed, please open the class app again on the computer.",
        },
        "mac": {
            "slow": "It may help to close other windows on the computer that play video.",
            "drop": "If the class window closed, please open the class app again on the computer.",
        },
        "ipad": {"slow": _TABLET_EN, "drop": "If the class app closed, tap its icon again."},
        "android_pad": {"slow": _TABLET_EN, "drop": "If the class app closed, tap its icon again."},
        "phone": {
            "slow": "It may help to move the phone closer to the Wi-Fi router.",
            "drop": "If the class app closed, tap its icon on the phone again.",
        },
    },
}

# When the session's own telemetry says how it connects, the advice for a slow class
# follows the line, not only the device: no "move closer to the Wi-Fi router" on cellular.
_NOUN: Final[dict[Language, dict[str, str]]] = {
    "zh-CN": {"phone": "手机", "ipad": "平板", "android_pad": "平板", "pc": "电脑", "mac": "电脑"},
    "en": {"phone": "phone", "ipad": "tablet", "android_pad": "tablet", "pc": "computer",
           "mac": "computer"},
}
CONN_HINT: Final[dict[Language, dict[str, str]]] = {
    "zh-CN": {
        "cellular": "可以让{noun}移到手机信号更好的地方；如果家里有无线网络，也可以连上无线网络。",
        "wired": "可以检查一下{noun}的网线是否插好，并关掉其他在播放视频或下载的窗口。",
    },
    "en": {
        "cellular": (
            "It may help to move the {noun} to where the mobile signal is stronger, "
            "or to join the home Wi-Fi if there is one."
        ),
        "wired": (
            "It may help to check that the {noun}'s network cable is plugged in firmly, "
            "and to close other windows that play video."
        ),
    },
}

REASSURE: Final[dict[Language, str]] = {
    "zh-CN": "不用着急，我们可以帮您。",
    "en": "There is no hurry; we are here to help.",
}
MENU: Final[dict[Language, str]] = {
    "zh-CN": "需要技术人员现在帮您，请按1；希望我们稍后再打给您，请按2。",
    "en": "To talk to a technician now, press 1. For us to call you back later, press 2.",
}
GOODBYE: Final[dict[Language, str]] = {
    "zh-CN": "没有关系，我们稍后会再联系您。再见。",
    "en": "That is all right, we will be in touch again soon. Goodbye.",
}
CONNECTING: Final[dict[Language, str]] = {
    "zh-CN": "好的，正在为您转接技术人员，请稍等。",
    "en": "Thank you. We are connecting you to a technician, please hold.",
}
CALL_BACK: Final[dict[Language, str]] = {
    "zh-CN": "好的，我们稍后再打给您。再见。",
    "en": "All right, we will call you back later. Goodbye.",
}
REPLY_HINT: Final[dict[Language, str]] = {
    "zh-CN": "需要帮忙请回复“帮忙”；已经好了请回复“好了”。",
    "en": 'Reply "please help" if you would like help, or "it is fine now" if it works again.',
}

# The SMS asks for one digit, the simplest answer on any phone; each digit's line says
# what it does, and the reply parser (outreach/decide/sms_intents.py) must read the digit as
# that intent (tests/outreach/scripts/test_sms_wording.py holds the two together).
SMS_DIGITS: Final[dict[str, str]] = {"1": "callback_requested", "2": "solved"}
SMS_CHOICE: Final[dict[Language, dict[str, str]]] = {
    "zh-CN": {"1": "需要技术人员给您打电话，请回复1；", "2": "孩子的课已经好了，请回复2。"},
    "en": {
        "1": "Reply 1 and a technician will call you.",
        "2": "Reply 2 if the class works again.",
    },
}
# The short opt-out line carriers expect on automated SMS, and the word it offers.
SMS_OPT_OUT: Final[dict[Language, str]] = {
    "zh-CN": "回复TD退订",
    "en": "Reply STOP to stop these messages.",
}
SMS_STOP_WORD: Final[dict[Language, str]] = {"zh-CN": "TD", "en": "STOP"}

# Our answer to a family's SMS reply, by what they asked for (no answer to STOP / START:
# Twilio sends its own confirmation).
SMS_REPLY: Final[dict[Language, dict[str, str]]] = {
    "zh-CN": {
        "callback_requested": "好的，技术人员会尽快给您回电话。",
        "solved": "太好了，谢谢您告诉我们！祝孩子上课顺利。",
        "unclear": "收到您的消息，技术人员会尽快看一下并联系您。",
    },
    "en": {
        "callback_requested": "Thank you. A technician will call you back soon.",
        "solved": "Wonderful, thank you for letting us know! Enjoy the class.",
        "unclear": "Thank you for your message. A technician will read it and get back to you.",
    },
}


@dataclass(frozen=True, slots=True)
class Script:
    """The words for one fault on one device in one language."""

    language: Language
    text: str
    menu: str
    goodbye: str


def language_of(language: str) -> Language:
    """The supported language closest to `language` (zh*, else en)."""
    if language.lower().startswith("zh"):
        return "zh-CN"
    if language.lower().startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


def known_device(device: str | None) -> Device:
    """The device whose hints to give: the family's own when we know it, else the computer."""
    return next((known for known in DEVICES if known == device), "pc")


def slow_hint(lang: Language, device: str, conn: str = "unknown") -> str:
    """The advice for a slow class: by connection type when it is known, else by device."""
    noun = _NOUN[lang].get(device, _NOUN[lang]["pc"])
    if conn in CONN_HINT[lang]:
        return CONN_HINT[lang][conn].format(noun=noun)
    hints = DEVICE_HINT[lang].get(device, DEVICE_HINT[lang]["pc"])  # type: ignore[call-overload]
    return str(hints["slow"])


def script_for(fault: Fault, device: str = "pc", language: str = DEFAULT_LANGUAGE,
               conn: str = "unknown") -> Script:
    """The script for a fault seen on a device over a connection type (`wifi`, `cellular`...).

    Unknown devices get the computer's hints; an unknown connection the device's.
    """
    lang = language_of(language)
    parts = [GREETING[lang], FAULT_TEXT[lang][fault]]
    if fault != "line":
        hints = DEVICE_HINT[lang].get(device, DEVICE_HINT[lang]["pc"])  # type: ignore[call-overload]
        parts.append(slow_hint(lang, device, conn) if fault == "lag" else hints["drop"])
        parts.append(REASSURE[lang])
    sep = "" if lang == "zh-CN" else " "
    return Script(lang, sep.join(parts), MENU[lang], GOODBYE[lang])


def message_text(fault: Fault, device: str = "pc", language: str = DEFAULT_LANGUAGE,
                 conn: str = "unknown") -> str:
    """The chat wording: the script plus how to reply in words (the SMS has `sms_text`)."""
    script = script_for(fault, device, language, conn)
    if fault == "line":
        return script.text
    sep = "" if script.language == "zh-CN" else " "
    return script.text + sep + REPLY_HINT[script.language]


def sms_text(fault: Fault, device: str = "pc", language: str = DEFAULT_LANGUAGE,
             conn: str = "unknown") -> str:
    """The SMS wording: the script, one digit per answer (none for a line), the opt-out line."""
    script = script_for(fault, device, language, conn)
    lang = script.language
    parts = [script.text]
    if fault != "line":
        parts.extend(SMS_CHOICE[lang][digit] for digit in SMS_DIGITS)
    parts.append(SMS_OPT_OUT[lang])
    return ("" if lang == "zh-CN" else " ").join(parts)


def sms_reply_text(intent: str, language: str = DEFAULT_LANGUAGE) -> str | None:
    """The short, kind answer to an SMS reply of this intent; None when we do not answer."""
    return SMS_REPLY[language_of(language)].get(intent)
