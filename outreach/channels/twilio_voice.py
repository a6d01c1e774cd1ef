"""Phone calls through Twilio: a calm script in TwiML with a one-key menu."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import structlog
from twilio.rest import Client

from outreach.channels.base import OutboundMessage, ProviderStatus
from outreach.channels.twilio_client import (
    Lookup,
    TwilioChannelBase,
    TwilioSender,
    TwilioSettings,
    epoch_ms,
    with_query,
)
from outreach.channels.twilio_twiml import call_twiml
from outreach.decide.decision import ChannelName

log = structlog.get_logger(__name__)
CALL_EVENTS: Final = ["initiated", "ringing", "answered", "completed"]
# Wait for the voicemail's beep, so the script is left as the message; the callbacks then
# carry `AnsweredBy` (machine_end_beep, fax...), which the chain treats as no answer (SMS).
MACHINE_DETECTION: Final = "DetectMessageEnd"
# A call Twilio lists as made this long before our first try still counts as ours (clock skew).
LOOKUP_SKEW: Final = timedelta(seconds=60)


class TwilioVoiceChannel(TwilioChannelBase):
    """Places the outbound call; answers come back through the status callback app."""

    name: ChannelName = "call"

    def __init__(self, settings: TwilioSettings, sender: TwilioSender | None = None) -> None:
        # No blind retry after a timeout: the call may already be ringing.
        super().__init__(settings, sender or TwilioSender(settings, retry_unknown=False))

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
                conn=message.conn,
                gather_action=with_query(gather, query) if gather else None,
            ),
            "timeout": self.settings.ring_timeout_s,
        }
        if self.settings.machine_detection:
            params["machine_detection"] = MACHINE_DETECTION
        if self.settings.status_callback_url:
            # A client-side marker: the callbacks of a call a failed create made anyway name
            # this very send.
            marked = {**query, "idem": secrets.token_hex(8)}
            params["status_callback"] = with_query(self.settings.status_callback_url, marked)
            params["status_callback_event"] = CALL_EVENTS
            params["status_callback_method"] = "POST"
        return params

    async def _create(self, client: Client, params: dict[str, Any]) -> Any:
        return await client.calls.create_async(**params)

    async def _fetch(self, client: Client, sid: str) -> Any:
        return await client.calls(sid).fetch_async()

    def status_of(self, found: Any) -> ProviderStatus:
        """A fetched call as its status callback says it: CallStatus, AnsweredBy, CallDuration."""
        detail = {"AnsweredBy": found.answered_by, "CallDuration": found.duration}
        return ProviderStatus(
            str(found.status), str(found.sid), {k: str(v) for k, v in detail.items() if v},
            epoch_ms(found.end_time or found.date_updated),
        )

    def lookup(self, params: dict[str, Any]) -> Lookup:
        """After a 5xx, before any retry: a call to this number made since we first tried.

        Twilio's Call resource does not show its status-callback URL, so the call is found
        by To, From and creation time; any such call counts as ours (one family, one call),
        and its callbacks carry our `idem` marker.
        """
        since = datetime.now(UTC) - LOOKUP_SKEW
        to, from_ = params["to"], params["from_"]

        async def find(client: Client) -> Any | None:
            calls = await client.calls.list_async(to=to, from_=from_, limit=20, page_size=20)
            mine = [c for c in calls if c.date_created is None or c.date_created >= since]
            return mine[0] if mine else None

        return find
