"""The local Twilio stand-in's request checks and answers (as Twilio's 2010-04-01 API words them).

Also `post_signed`, which posts a webhook signed with X-Twilio-Signature, as Twilio does.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def now() -> str:
    """The current time as Twilio writes it (RFC 2822)."""
    return format_datetime(datetime.now(UTC))


def error(status: int, code: int, message: str) -> dict[str, Any]:
    """A Twilio error answer."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }



def validate_call(p: dict[str, str]) -> tuple[int, str] | None:
    """What is wrong with a create-call request (code, message), or None."""
    if not p.get("To"):
        return 21201, "No 'To' number is specified"
    if not p.get("From"):
        return 21213, "No 'From' number is specified"
    if not (p.get("Url") or p.get("Twiml") or p.get("ApplicationSid")):
        return 21205, "Url parameter is required"
    if p["To"].startswith("+") and not E164.match(p["To"]):
        return 21211, f"Invalid 'To' Phone Number: {p['To']}"
    if p.get("MachineDetection", "Enable") not in ("Enable", "DetectMessageEnd"):
        return 21200, f"Invalid MachineDetection: {p['MachineDetection']}"
    return None


def validate_message(p: dict[str, str]) -> tuple[int, str] | None:
    """What is wrong with a create-message request (code, message), or None."""
    if not p.get("To"):
        return 21604, "A 'To' phone number is required"
    if not (p.get("From") or p.get("MessagingServiceSid")):
        return 21603, "A 'From' phone number is required"
    if not (p.get("Body") or p.get("MediaUrl") or p.get("ContentSid")):
        return 21602, "Message body is required"
    if p["To"].startswith("+") and not E164.match(p["To"]):
        return 21211, f"Invalid 'To' Phone Number: {p['To']}"
    return None


def post_signed(url: str, params: dict[str, str], signature: str, timeout_s: float = 5.0) -> int:
    """POST form `params` to `url` with an X-Twilio-Signature header; returns the HTTP status."""
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(params).encode(),
        headers={
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def list_calls(
    path: str, resources: list[dict[str, Any]], query: dict[str, list[str]]
) -> dict[str, Any]:
    """One page of `GET .../Calls.json`, filtered by To, From and Status (newest first)."""
    wanted = {"To": "to", "From": "from", "Status": "status"}
    calls = [r for r in resources if str(r["sid"]).startswith("CA") and all(
        r.get(field) == query[name][0] for name, field in wanted.items() if name in query)]
    calls.reverse()
    size = int((query.get("PageSize") or ["50"])[0])
    page = calls[:size]
    uri = urllib.parse.urlsplit(path).path
    return {"calls": page, "end": max(0, len(page) - 1), "first_page_uri": uri,
            "next_page_uri": None, "page": 0, "page_size": size, "previous_page_uri": None,
            "start": 0, "uri": uri}  # fmt: skip


UPDATE_STATUSES = ("canceled", "completed")
FINAL = ("completed", "canceled", "failed", "busy", "no-answer", "delivered", "undelivered")


def settle(resource: dict[str, Any], status: str, extra: dict[str, str]) -> None:
    """A call's or message's new status, as a fetch shows it (AnsweredBy, duration, error)."""
    stamp = now()
    resource["status"] = status
    resource["date_updated"] = stamp
    if str(resource["sid"]).startswith("CA"):
        resource["answered_by"] = extra.get("AnsweredBy", resource.get("answered_by"))
        resource["duration"] = extra.get("CallDuration", resource.get("duration"))
        if status in FINAL:
            resource["end_time"] = stamp
    else:
        resource["error_code"] = int(extra["ErrorCode"]) if "ErrorCode" in extra else None
        if status in ("sent", "delivered"):
            resource["date_sent"] = resource.get("date_sent") or stamp


def update_call(call: dict[str, Any], p: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """`POST .../Calls/{Sid}.json`: new TwiML (or URL) for a live call, or end it."""
    if call["status"] in ("completed", "canceled", "failed", "busy", "no-answer"):
        return 400, error(400, 21220, "Call is not in-progress. Cannot redirect.")
    if not (p.get("Twiml") or p.get("Url") or p.get("Status")):
        return 400, error(400, 21205, "Url, Twiml or Status is required")
    if p.get("Status") and p["Status"] not in UPDATE_STATUSES:
        return 400, error(400, 21218, f"Invalid Status: {p['Status']}")
    if p.get("Status"):
        call["status"] = p["Status"]
    call["date_updated"] = now()
    return 200, dict(call)
