"""A local Twilio stand-in: Calls and Messages of the 2010-04-01 REST API on 127.0.0.1.

Accepts what Twilio accepts (form-encoded, HTTP Basic auth with the account SID and
auth token), answers JSON shaped like Twilio's OpenAPI description, records every
request, can be told to answer 429/500 or to stall for the next N requests, and sends
status callbacks signed with the auth token exactly as Twilio does. A call or message
fetched (`GET .../{Calls|Messages}/{Sid}.json`) shows how it ended even when its
callback found nobody listening. How each call or
message ends can be scripted (in order), chosen per number (`status_of`), or fixed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import secrets
import threading
import urllib.parse
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

from twilio.request_validator import RequestValidator

from monitor.simulate.twilio_standin_api import (
    error,
    list_calls,
    now,
    post_signed,
    settle,
    update_call,
    validate_call,
    validate_message,
)

__all__ = ["RecordedRequest", "TwilioStandIn", "post_signed"]

API_VERSION: Final = "2010-04-01"
PATH = re.compile(
    r"^/2010-04-01/Accounts/(?P<account>[^/]+)/(?P<kind>Calls|Messages)(?:/(?P<sid>[^/]+))?\.json$"
)
DEFAULT_ACCOUNT_SID: Final = "AC" + "0" * 32
DEFAULT_AUTH_TOKEN: Final = "standin-auth-token"
# How a new call or message ends, by its kind ("Calls" or "Messages") and its To number
# (None: the default).
StatusOf = Callable[[str, str], str | None]


@dataclass(slots=True)
class RecordedRequest:
    """One request the stand-in received (params keep every value of repeated keys).

    Recorded on arrival; `answered` is the HTTP status once answered (None while stalled).
    """

    method: str
    path: str
    params: dict[str, list[str]]
    headers: dict[str, str]
    answered: int | None = None

    def param(self, name: str) -> str | None:
        """The first value of form parameter `name`."""
        values = self.params.get(name)
        return values[0] if values else None


@dataclass(slots=True)
class _Fault:
    status: int = 0
    delay_s: float = 0.0
    code: int = 0
    retry_after: str | None = None
    create_anyway: bool = False  # the call is made, but the answer is the error


@dataclass(slots=True)
class _State:
    requests: list[RecordedRequest] = field(default_factory=list)
    faults: deque[_Fault] = field(default_factory=deque)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    callbacks: dict[str, tuple[str, str]] = field(default_factory=dict)
    outcomes: deque[str] = field(default_factory=deque)
    timers: list[threading.Timer] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)


class TwilioStandIn:
    """The stand-in server. Use as a context manager, or `start()` / `stop()`."""

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        host: str = "127.0.0.1",
        *,
        auto_status: str | None = None,
        auto_delay_s: float = 0.2,
        status_of: StatusOf | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.auto_status = auto_status
        self.status_of = status_of
        self.auto_delay_s = auto_delay_s
        self._state = _State()
        self._server = ThreadingHTTPServer((host, 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`: give this to the client as its API base URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in order."""
        with self._state.lock:
            return list(self._state.requests)

    def resource(self, sid: str) -> dict[str, Any]:
        """The stored call or message with this SID."""
        with self._state.lock:
            return dict(self._state.resources[sid])

    def fail_next(
        self, n: int = 1, status: int = 500, code: int = 0, *, retry_after: str | None = None,
        create_anyway: bool = False,
    ) -> None:
        """Answer the next `n` API requests with HTTP `status` (e.g. 429, 500, 503, 400).

        `code`: Twilio's error code in the answer (e.g. 21610: the number sent STOP);
        `retry_after`: a Retry-After header; `create_anyway`: a create still happens.
        """
        fault = _Fault(status=status, code=code, retry_after=retry_after,
                       create_anyway=create_anyway)  # fmt: skip
        with self._state.lock:
            self._state.faults.extend(fault for _ in range(n))

    def stall_next(self, n: int = 1, delay_s: float = 1.0) -> None:
        """Hold the next `n` API requests for `delay_s` before answering (client timeouts)."""
        with self._state.lock:
            self._state.faults.extend(_Fault(delay_s=delay_s) for _ in range(n))

    def script_outcomes(self, *statuses: str) -> None:
        """Finish the next new calls/messages with these statuses, then as `status_of` says
        (else with `auto_status`).

        Each status (e.g. "no-answer", "completed", "delivered") is sent to the resource's
        StatusCallback `auto_delay_s` after it was created.
        """
        with self._state.lock:
            self._state.outcomes.extend(statuses)

    def start(self) -> TwilioStandIn:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wake any stalled request."""
        self._state.stopping.set()
        with self._state.lock:
            timers, self._state.timers = self._state.timers, []
        for timer in timers:
            timer.cancel()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> TwilioStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def signature(self, url: str, params: dict[str, str]) -> str:
        """The X-Twilio-Signature Twilio would send for a POST of `params` to `url`."""
        return str(RequestValidator(self.auth_token).compute_signature(url, params))

    def send_status_callback(
        self, sid: str, status: str, extra: dict[str, str] | None = None, timeout_s: float = 5.0
    ) -> int:
        """POST a signed status callback for `sid` to its StatusCallback URL; returns HTTP status.

        Blocking: from async code use `await asyncio.to_thread(standin.send_status_callback, ...)`.
        """
        with self._state.lock:
            url, kind = self._state.callbacks[sid]
            resource = self._state.resources[sid]
            settle(resource, status, extra or {})
        if kind == "Calls":
            params = {
                "AccountSid": self.account_sid,
                "CallSid": sid,
                "CallStatus": status,
                "From": str(resource["from"]),
                "To": str(resource["to"]),
                "Direction": "outbound-api",
                "ApiVersion": API_VERSION,
            }
        else:
            params = {
                "AccountSid": self.account_sid,
                "MessageSid": sid,
                "SmsSid": sid,
                "MessageStatus": status,
                "SmsStatus": status,
                "From": str(resource["from"]),
                "To": str(resource["to"]),
                "ApiVersion": API_VERSION,
            }
        params.update(extra or {})
        return post_signed(url, params, self.signature(url, params), timeout_s)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                standin._serve(self, "POST")

            def do_GET(self) -> None:
                standin._serve(self, "GET")

        return Handler

    def _serve(self, h: BaseHTTPRequestHandler, method: str) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length).decode() if length else ""
        params = urllib.parse.parse_qs(body, keep_blank_values=True)
        record = RecordedRequest(method, h.path, params, dict(h.headers.items()))
        with self._state.lock:
            self._state.requests.append(record)
            fault = self._state.faults.popleft() if self._state.faults else _Fault()
        if fault.delay_s:
            self._state.stopping.wait(fault.delay_s)
        status, payload = self._answer(h, method, params, fault)
        record.answered = status
        data = json.dumps(payload).encode()
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json; charset=utf-8")
            h.send_header("Content-Length", str(len(data)))
            if fault.retry_after is not None:
                h.send_header("Retry-After", fault.retry_after)
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout) before the answer

    def _answer(
        self,
        h: BaseHTTPRequestHandler,
        method: str,
        params: dict[str, list[str]],
        fault: _Fault,
    ) -> tuple[int, dict[str, Any]]:
        match = PATH.match(urllib.parse.urlsplit(h.path).path)
        if match is None:
            return 404, error(404, 20404, "The requested resource was not found")
        if not self._authorized(h.headers.get("Authorization", ""), match["account"]):
            return 401, error(401, 20003, "Authenticate")
        kind, sid = match["kind"], match["sid"]
        one = {k: v[0] for k, v in params.items() if v}
        if fault.create_anyway and method == "POST" and sid is None:
            self._create(kind, one)
        if fault.status:
            messages = {429: "Too Many Requests", 503: "Service Unavailable"}
            code = fault.code or (20429 if fault.status == 429 else 20500)
            return fault.status, error(fault.status, code, messages.get(fault.status, "Error"))
        if sid is None and method == "GET":
            if kind != "Calls":
                return 405, error(405, 20004, "Method not allowed")
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(h.path).query)
            with self._state.lock:
                return 200, list_calls(h.path, list(self._state.resources.values()), query)
        if sid is not None:
            with self._state.lock:
                found = self._state.resources.get(sid)
                if found is None:
                    return 404, error(404, 20404, "The requested resource was not found")
                if method == "GET":
                    return 200, dict(found)
                if kind != "Calls":
                    return 405, error(405, 20004, "Method not allowed")
                return update_call(found, one)
        problem = validate_call(one) if kind == "Calls" else validate_message(one)
        if problem is not None:
            return 400, error(400, problem[0], problem[1])
        return 201, self._create(kind, one)

    def _authorized(self, header: str, account: str) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return account == self.account_sid and secrets.compare_digest(header, f"Basic {expected}")

    def _create(self, kind: str, one: dict[str, str]) -> dict[str, Any]:
        prefix = "CA" if kind == "Calls" else "SM"
        sid = prefix + secrets.token_hex(16)
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/{kind}/{sid}.json"
        stamp = now()
        common: dict[str, Any] = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "date_created": stamp,
            "date_updated": stamp,
            "direction": "outbound-api",
            "from": one.get("From"),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "to": one["To"],
            "uri": uri,
        }
        if kind == "Calls":
            common |= {
                "answered_by": None,
                "caller_name": None,
                "duration": None,
                "end_time": None,
                "forwarded_from": None,
                "from_formatted": one.get("From"),
                "group_sid": None,
                "parent_call_sid": None,
                "phone_number_sid": None,
                "start_time": None,
                "to_formatted": one["To"],
                "trunk_sid": None,
                "queue_time": "0",
                "subresource_uris": {"recordings": uri.replace(".json", "/Recordings.json")},
            }
        else:
            common |= {
                "body": one.get("Body", ""),
                "date_sent": None,
                "error_code": None,
                "error_message": None,
                "messaging_service_sid": one.get("MessagingServiceSid"),
                "num_media": "0",
                "num_segments": "1",
                "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            }
        with self._state.lock:
            self._state.resources[sid] = common
            if one.get("StatusCallback"):
                self._state.callbacks[sid] = (one["StatusCallback"], kind)
                outcome = self._state.outcomes.popleft() if self._state.outcomes else None
                if outcome is None and self.status_of is not None:
                    outcome = self.status_of(kind, one["To"])
                self._finish_later(sid, outcome or self.auto_status)
        return common

    def _finish_later(self, sid: str, status: str | None) -> None:
        if status is None:
            return
        extra = {"CallDuration": "30"} if sid.startswith("CA") and status == "completed" else {}
        timer = threading.Timer(self.auto_delay_s, self._finish, (sid, status, extra))
        timer.daemon = True
        self._state.timers.append(timer)
        timer.start()

    def _finish(self, sid: str, status: str, extra: dict[str, str]) -> None:
        with contextlib.suppress(OSError):  # the receiver is gone (e.g. the demo stopped)
            self.send_status_callback(sid, status, extra)


