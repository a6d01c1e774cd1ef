"""The technicians' queue routes are signed like every Twilio callback: forgeries change nothing."""

from __future__ import annotations

import httpx
import pytest
from twilio.request_validator import RequestValidator

from outreach.channels.twilio_callbacks import create_app
from outreach.channels.twilio_queue import QueueEvent
from outreach.decide.signals import CallbackEvent, MenuChoice

TOKEN = "our-auth-token"
DONE = "/twilio/queue-done?case_id=c1&lang=en"
WAIT = "/twilio/queue-wait?case_id=c1&lang=en"
FORM = {"CallSid": "CA" + "3" * 32, "QueueResult": "leave", "QueueTime": "130",
        "QueuePosition": "1"}


async def post(path: str, signature: str | None, token: str = TOKEN,
               ) -> tuple[int, list[QueueEvent]]:
    recorded: list[QueueEvent] = []

    async def sink(event: CallbackEvent | MenuChoice) -> None:
        return None

    async def on_queue(event: QueueEvent) -> None:
        recorded.append(event)

    app = create_app(token, sink, on_queue=on_queue)
    headers = {} if signature is None else {"X-Twilio-Signature": signature}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://cb") as c:
        r = await c.post(path, data=FORM, headers=headers)
    return r.status_code, recorded


def sign(path: str, token: str = TOKEN) -> str:
    return str(RequestValidator(token).compute_signature("http://cb" + path, FORM))


@pytest.mark.parametrize("path", [DONE, WAIT])
async def test_unsigned_wrong_key_and_other_case_are_403(path: str) -> None:
    for signature in (None, "", sign(path, "guess"), sign(path.replace("c1", "c2"))):
        assert await post(path, signature) == (403, [])


async def test_a_genuine_end_of_wait_records_the_promise() -> None:
    status, recorded = await post(DONE, sign(DONE))
    assert status == 200
    assert [(e.kind, e.case_id, e.data["reason"]) for e in recorded] == [
        ("callback_scheduled", "c1", "leave")]


async def test_without_a_token_the_queue_routes_do_not_exist() -> None:
    assert await post(DONE, sign(DONE, ""), token="") == (404, [])
