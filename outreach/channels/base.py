"""The channel seam: one `send` per outbound message, one implementation per channel.

`status` looks a sent message up again (a restarted runtime asks what became of the
call, SMS or chat it was waiting on when it stopped).
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    """What the provider says of a sent message now, in its callbacks' words (a look-up)."""

    status: str  # Twilio: queued, ringing, in-progress, completed, no-answer, delivered, ...
    provider_id: str
    detail: dict[str, str] = field(default_factory=dict)  # AnsweredBy, CallDuration, ErrorCode
    at: int | None = None  # when it got there (epoch ms), when the provider says


@runtime_checkable
class Channel(Protocol):
    """A way to reach a family (phone call, SMS, in-app chat)."""

    name: ChannelName

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send one message; never raises for provider trouble, returns a failed result."""
        ...

    async def status(self, provider_id: str) -> ProviderStatus | None:
        """The message's status now; None when the provider does not know or cannot say."""
        ...
