"""The in-app chat channel: a push through the chat gateway (one message, or many at once)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from outreach.channels.base import OutboundMessage, ProviderStatus, SendResult
from outreach.channels.chat_gateway import ChatGateway
from outreach.decide.decision import ChannelName
from outreach.scripts.remedy_wording import remedy_message_text
from outreach.scripts.wording import message_text
from outreach.store.outbox import NewMessage, OutboxMessage


def _payload(message: OutboundMessage) -> dict[str, Any]:
    """What the app is sent: the words, the fault, the language, the one-tap fix offered."""
    words = remedy_message_text if message.remedy else message_text
    text = message.text or words(message.fault, message.device, message.language, message.conn)
    offer = {"remedy": message.remedy} if message.remedy else {}
    return {"text": text, "fault": message.fault, "language": message.language, **offer}


def _delivered(stored: OutboxMessage) -> SendResult:
    return SendResult("delivered", provider_id=stored.message_id)


def _queued(stored: OutboxMessage) -> SendResult:
    return SendResult("queued", provider_id=stored.message_id, reason="not_acked_yet")


class ChatChannel:
    """Delivered when the app acks within `ack_timeout_s`; otherwise queued in the outbox."""

    name: ChannelName = "chat"

    def __init__(self, gateway: ChatGateway, ack_timeout_s: float = 5.0) -> None:
        self.gateway = gateway
        self.ack_timeout_s = ack_timeout_s

    async def send(self, message: OutboundMessage) -> SendResult:
        """Push the message; the outbox redelivers it until acked, so no retry is needed."""
        payload = _payload(message)
        text = payload.pop("text")
        stored = await self.gateway.push(message.student_id, text, case_id=message.case_id,
                                         message_id=message.message_id, extra=payload)
        if stored.acked_at is not None:
            return _delivered(stored)
        if self.gateway.connected(message.student_id) and await self.gateway.wait_acked(
            stored.message_id, self.ack_timeout_s
        ):
            return _delivered(stored)
        return _queued(stored)

    async def send_many(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        """`send` for many messages: pushed together, their acks waited for together."""
        return await self.results(await self.push_many(messages))

    async def push_many(self, messages: Sequence[OutboundMessage]) -> list[OutboxMessage]:
        """Store the messages in the outbox at once and push them to the connected apps."""
        return await self.gateway.push_many([
            NewMessage(m.student_id, _payload(m), m.case_id, m.message_id) for m in messages])

    async def results(self, stored: Sequence[OutboxMessage]) -> list[SendResult]:
        """What became of pushed messages: delivered if acked (those of connected apps waited
        for together, at most `ack_timeout_s` in all), else queued; in the order given."""
        waiting = [s.message_id for s in stored
                   if s.acked_at is None and self.gateway.connected(s.student_id)]
        acked = (await self.gateway.wait_acked_many(waiting, self.ack_timeout_s)
                 if waiting else set())
        return [_delivered(s) if s.acked_at is not None or s.message_id in acked else _queued(s)
                for s in stored]

    async def status(self, provider_id: str) -> ProviderStatus | None:
        """`delivered` once the app acked the message (shown), else `queued`; None: unknown."""
        stored = await self.gateway.outbox.get(provider_id)
        if stored is None:
            return None
        if stored.acked_at is None:
            return ProviderStatus("queued", provider_id)
        return ProviderStatus("delivered", provider_id, at=stored.acked_at)
