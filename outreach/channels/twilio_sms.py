"""Text messages through Twilio."""

from __future__ import annotations

from typing import Any

import structlog
from twilio.rest import Client

from outreach.channels.base import OutboundMessage
from outreach.channels.twilio_client import (
    TwilioChannelBase,
    TwilioSender,
    TwilioSettings,
    with_query,
)
from outreach.decide.decision import ChannelName
from outreach.scripts.wording import sms_text

log = structlog.get_logger(__name__)


class TwilioSmsChannel(TwilioChannelBase):
    """Sends the SMS; delivery reports come back through the status callback app."""

    name: ChannelName = "sms"

    def __init__(self, settings: TwilioSettings, sender: TwilioSender | None = None) -> None:
        super().__init__(settings, sender or TwilioSender(settings, retry_unknown=True))

    def create_params(self, message: OutboundMessage) -> dict[str, Any]:
        """Arguments for `messages.create_async`."""
        params: dict[str, Any] = {
            "to": message.to,
            "from_": self.settings.from_number,
            "body": message.text or sms_text(message.fault, message.device, message.language),
        }
        if self.settings.status_callback_url:
            query = {
                "case_id": message.case_id,
                "message_id": message.message_id,
                "channel": self.name,
            }
            params["status_callback"] = with_query(self.settings.status_callback_url, query)
        return params

    async def _create(self, client: Client, params: dict[str, Any]) -> Any:
        return await client.messages.create_async(**params)
