"""Fakes for line incidents as problems: a chat whose app is open for some families only."""

from __future__ import annotations

from dataclasses import dataclass, field

from detectors.records import Incident
from outreach.channels.base import OutboundMessage, ProviderStatus, SendResult
from outreach.decide.decision import ChannelName


@dataclass
class ChatWhereOpen:
    """The in-app chat: acknowledged (delivered) where the family's app is open, else queued."""

    open_for: set[str] = field(default_factory=set)
    name: ChannelName = "chat"
    sent: list[OutboundMessage] = field(default_factory=list)

    async def send(self, message: OutboundMessage) -> SendResult:
        """Keep the message; delivered only to a family whose app is open."""
        self.sent.append(message)
        if message.student_id in self.open_for:
            return SendResult("delivered", provider_id=message.message_id)
        return SendResult("queued", provider_id=message.message_id, reason="not_acked_yet")

    async def status(self, provider_id: str) -> ProviderStatus | None:
        """Nothing to look up here."""
        return None


def line_incident(state: str, sessions: list[str], *, start: int, ended: int | None = None,
                  edge: str = "e1", incident_id: str = "line-edge-1") -> Incident:
    """A line incident record of edge `edge` over `sessions`."""
    return Incident(incident_id, "line", state, start, start + 8_000,  # type: ignore[arg-type]
                    ended if state == "closed" else None, {"edge": edge},
                    {"classrooms": 2}, sessions=list(sessions))
