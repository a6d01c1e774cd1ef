"""Where live Twilio calls us back: a public https URL, unless the API is a local stand-in."""

from __future__ import annotations

import ipaddress
import urllib.parse

from monitor.platform.settings import Problem, TwilioSection, env_name, twilio_on

WHERE = f"[service] public_base_url ({env_name('service', 'public_base_url')} or --public-url)"


def _local(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


def standin(section: TwilioSection) -> bool:
    """Whether [twilio] api_base_url is on loopback (the local stand-in of the demo and tests)."""
    return _local(urllib.parse.urlsplit(section.api_base_url).hostname or "")


def callback_problems(section: TwilioSection, public_url: str | None) -> list[Problem]:
    """Why Twilio could not call back `public_url` in live mode (none for a stand-in or off)."""
    if not twilio_on(section) or standin(section):
        return []
    live = f"live Twilio ({section.api_base_url})"
    if not public_url:
        return [Problem(WHERE, f"{live} needs the public https URL Twilio calls back (status "
                               "callbacks, menu keys, SMS replies); without it they would go "
                               "to the callback app's listen address")]
    parts = urllib.parse.urlsplit(public_url)
    if parts.scheme != "https" or not parts.hostname:
        return [Problem(WHERE, f"{live} calls back over https only: expected https://host[/...], "
                               f"got {public_url!r}")]
    if _local(parts.hostname):
        return [Problem(WHERE, f"{live} cannot reach {parts.hostname}: give the public host "
                               "Twilio calls back")]
    return []
