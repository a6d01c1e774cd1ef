"""The channel seam: one `send` per outbound message, one implementation per channel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, Protocol, runtime_checkable

from outreach.decide.decision import ChannelName
from outreach.scripts.wording import Device, Fault

SendStatus = Literal["delivered", "queued", "failed"]
CHANNEL_NAMES: Final = ("call", "sms", "chat")


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """What to tell whom, about which case; the channel renders the words from the script."""

    message_id: str
    case_id: str
    student_id: str
    channel: ChannelName
    fault: Fault
    to: str | None = None
    device: Device = "pc"
    language: str = "zh-CN"
    text: str | None = None
    conn: str = "unknown"  # the session's connection type (wifi, wired, cellular), if known
    remedy: str | None = None  # a one-tap fix the chat message offers (`lighter_picture`)


@dataclass(frozen=True, slots=True)
class SendResult:
    """What a channel did with a message (channels return failures, they do not raise)."""

    status: SendStatus
    retryable: bool = False
    provider_id: str | None = None
    reason: str = ""
    attempts: int = 1

    @property
    def ok(self) -> bool:
        """True when the message was delivered or accepted for delivery."""
        return self.status != "failed"


@runtime_checkable
class Channel(Protocol):
    """A way to reach a family (phone call, SMS, in-app chat)."""

    name: ChannelName

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send one message; never raises for provider trouble, returns a failed result."""
        ...
