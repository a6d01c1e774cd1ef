"""The in-app chat channel: a push through the chat gateway."""

from __future__ import annotations

from outreach.channels.base import OutboundMessage, ProviderStatus, SendResult
from outreach.channels.chat_gateway import ChatGateway
from outreach.decide.decision import ChannelName
from outreach.scripts.remedy_wording import remedy_message_text
from outreach.scripts.wording import message_text


class ChatChannel:
    """Delivered when the app acks within `ack_timeout_s`; otherwise queued in the outbox."""

    name: ChannelName = "chat"

    def __init__(self, gateway: ChatGateway, ack_timeout_s: float = 5.0) -> None:
        self.gateway = gateway
        self.ack_timeout_s = ack_timeout_s

    async def send(self, message: OutboundMessage) -> SendResult:
        """Push the message; the outbox redelivers it until acked, so no retry is needed."""
        words = remedy_message_text if message.remedy else message_text
        text = message.text or words(message.fault, message.device, message.language, message.conn)
        offer = {"remedy": message.remedy} if message.remedy else {}
        stored = await self.gateway.push(
            message.student_id,
            text,
            case_id=message.case_id,
            message_id=message.message_id,
            extra={"fault": message.fault, "language": message.language, **offer},
        )
        if stored.acked_at is not None:
            return SendResult("delivered", provider_id=stored.message_id)
        if self.gateway.connected(message.student_id) and await self.gateway.wait_acked(
            stored.message_id, self.ack_timeout_s
        ):
            return SendResult("delivered", provider_id=stored.message_id)
        return SendResult("queued", provider_id=stored.message_id, reason="not_acked_yet")

    async def status(self, provider_id: str) -> ProviderStatus | None:
        """`delivered` once the app acked the message (shown), else `queued`; None: unknown."""
        stored = await self.gateway.outbox.get(provider_id)
        if stored is None:
            return None
        if stored.acked_at is None:
            return ProviderStatus("queued", provider_id)
        return ProviderStatus("delivered", provider_id, at=stored.acked_at)
