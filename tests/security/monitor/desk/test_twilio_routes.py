"""The desk has no Twilio routes: a forged callback signed with the empty key is a 404."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from tests.support.desk_api import DeskClient


@pytest.mark.parametrize("path", ["/twilio/status?case_id=c1&channel=call",
                                  "/twilio/gather?case_id=c1", "/twilio/sms"])
async def test_twilio_paths_do_not_exist_on_the_desk(api: DeskClient, path: str) -> None:
    form = {"From": "+14155550123", "Body": "STOP", "Digits": "1", "CallStatus": "completed"}
    signature = RequestValidator("").compute_signature("http://desk" + path, form)
    r = await api.http.post(path, data=form, headers={"X-Twilio-Signature": signature})
    assert r.status_code == 404
