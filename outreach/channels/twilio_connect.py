"""Putting a caller who waits in the technicians' queue through to the agent who claimed the case.

Twilio's Calls update (`POST .../Calls/{CallSid}.json` with `Twiml`) takes the live call
out of the queue and plays our new TwiML: the hand-over, then `<Dial>` to the agent's
phone, whose outcome Twilio posts to the queue's action URL (`twilio_queue`: an agent's
phone that does not answer turns into a promised call back).
"""

from __future__ import annotations

from typing import Any

import structlog
from twilio.rest import Client

from outreach.channels.base import SendResult
from outreach.channels.twilio_client import TwilioSender, TwilioSettings, with_query
from outreach.channels.twilio_queue import connect_twiml
from outreach.decide.redact import mask_phone

log = structlog.get_logger(__name__)


class TwilioCallConnector:
    """Redirects a waiting call to an agent's phone (real twilio library)."""

    def __init__(self, settings: TwilioSettings, sender: TwilioSender | None = None) -> None:
        # No blind retry after a timeout: a second redirect would ring the agent again.
        self.settings = settings
        self.sender = sender or TwilioSender(settings, retry_unknown=False)

    def twiml(self, agent_phone: str, case_id: str, language: str) -> str:
        """The waiting call's new TwiML."""
        action = self.settings.queue_action_url
        url = with_query(action, {"case_id": case_id, "lang": language}) if action else None
        caller_id = self.settings.from_number
        if not caller_id.startswith("+"):  # a Messaging Service SID cannot be a caller id
            caller_id = ""
        return connect_twiml(language, agent_phone, caller_id, url, self.settings.ring_timeout_s)

    async def connect(
        self, call_sid: str, agent_phone: str, case_id: str, language: str
    ) -> SendResult:
        """Update the call `call_sid` to dial `agent_phone`; `queued` when Twilio took it."""
        twiml = self.twiml(agent_phone, case_id, language)
        logger = log.bind(case_id=case_id, provider_id=call_sid, to=mask_phone(agent_phone))

        async def update(client: Client) -> Any:
            return await client.calls(call_sid).update_async(twiml=twiml)

        return await self.sender.run(update, logger)

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self.sender.aclose()
