"""Text messages through Twilio."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

import structlog
from twilio.rest import Client

from outreach.channels.base import OutboundMessage, ProviderStatus, SendResult
from outreach.channels.twilio_client import (
    TwilioChannelBase,
    TwilioSender,
    TwilioSettings,
    epoch_ms,
    with_query,
)
from outreach.decide.decision import ChannelName
from outreach.scripts.wording import sms_text

log = structlog.get_logger(__name__)
UNSUBSCRIBED: Final = 21610  # Twilio: "Attempt to send to unsubscribed recipient"
OnUnsubscribed = Callable[[str, str], Awaitable[object]]  # (phone, a marker for the record)


class TwilioSmsChannel(TwilioChannelBase):
    """Sends the SMS; delivery reports come back through the status callback app."""

    name: ChannelName = "sms"

    def __init__(
        self,
        settings: TwilioSettings,
        sender: TwilioSender | None = None,
        *,
        on_unsubscribed: OnUnsubscribed | None = None,
    ) -> None:
        super().__init__(settings, sender or TwilioSender(settings, retry_unknown=True))
        self.on_unsubscribed = on_unsubscribed

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send; a refusal with error 21610 (the number sent STOP to Twilio) is an opt-out."""
        result = await super().send(message)
        if result.reason.endswith(f":{UNSUBSCRIBED}") and message.to and self.on_unsubscribed:
            await self.on_unsubscribed(message.to, f"error-{UNSUBSCRIBED}-{message.message_id}")
            log.info("sms_recipient_unsubscribed", case_id=message.case_id)
        return result

    def create_params(self, message: OutboundMessage) -> dict[str, Any]:
        """Arguments for `messages.create_async`."""
        params: dict[str, Any] = {
            "to": message.to,
            "from_": self.settings.from_number,
            "body": message.text or sms_text(message.fault, message.device, message.language,
                                             message.conn),
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

    async def _fetch(self, client: Client, sid: str) -> Any:
        return await client.messages(sid).fetch_async()

    def status_of(self, found: Any) -> ProviderStatus:
        """A fetched message as its status callback says it: MessageStatus, ErrorCode."""
        detail = {"ErrorCode": str(found.error_code)} if found.error_code else {}
        return ProviderStatus(str(found.status), str(found.sid), detail,
                              epoch_ms(found.date_updated))
