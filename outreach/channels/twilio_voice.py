"""Phone calls through Twilio: a calm script in TwiML with a one-key menu."""

from __future__ import annotations

from typing import Any, Final

import structlog
from twilio.rest import Client

from outreach.channels.base import ChannelName, OutboundMessage, SendResult
from outreach.channels.twilio_client import TwilioSender, TwilioSettings, with_query
from outreach.redact import mask_phone
from outreach.scripts import call_twiml

log = structlog.get_logger(__name__)
CALL_EVENTS: Final = ["initiated", "ringing", "answered", "completed"]


class TwilioVoiceChannel:
    """Places the outbound call; answers come back through the status callback app."""

    name: ChannelName = "call"

    def __init__(self, settings: TwilioSettings, sender: TwilioSender | None = None) -> None:
        self.settings = settings
        # No blind retry after a timeout: the call may already be ringing.
        self.sender = sender or TwilioSender(settings, retry_unknown=False)

    def callback_params(self, message: OutboundMessage) -> dict[str, str]:
        """Query parameters that tie a Twilio callback back to the case and attempt."""
        return {
            "case_id": message.case_id,
            "message_id": message.message_id,
            "channel": self.name,
            "lang": message.language,
        }

    def create_params(self, message: OutboundMessage) -> dict[str, Any]:
        """Arguments for `calls.create_async` (TwiML inline, status callbacks on)."""
        query = self.callback_params(message)
        gather = self.settings.gather_action_url
        params: dict[str, Any] = {
            "to": message.to,
            "from_": self.settings.from_number,
            "twiml": call_twiml(
                message.fault,
                message.device,
                message.language,
                gather_action=with_query(gather, query) if gather else None,
            ),
            "timeout": self.settings.ring_timeout_s,
        }
        if self.settings.machine_detection:
            params["machine_detection"] = "Enable"
        if self.settings.status_callback_url:
            params["status_callback"] = with_query(self.settings.status_callback_url, query)
            params["status_callback_event"] = CALL_EVENTS
            params["status_callback_method"] = "POST"
        return params

    async def send(self, message: OutboundMessage) -> SendResult:
        """Place the call; `queued` with the Call SID when Twilio accepted it."""
        logger = log.bind(
            case_id=message.case_id, message_id=message.message_id, to=mask_phone(message.to)
        )
        if not message.to:
            return SendResult("failed", reason="no_phone_number")
        params = self.create_params(message)

        async def create(client: Client) -> Any:
            return await client.calls.create_async(**params)

        return await self.sender.run(create, logger)

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self.sender.aclose()
