"""An agent's click to call: the family's guardian, through the case runtime's voice channel.

The guardian is the one the contact chain would ring (`reachable_guardian`: the first in
contact order with a phone who did not ask not to be called), the words name the family's
device when the desk saw it, and the call goes on the case as an attempt by the agent, so
the runtime's outcome rules see it. Twilio's status callbacks for it come back to the
runtime's callback app like those of the chain's own calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import structlog

from outreach.channels.base import Channel, OutboundMessage, SendResult
from outreach.contact.chain import DeviceOf
from outreach.contact.dispatch import reachable_guardian
from outreach.decide.case import Case
from outreach.decide.case_states import Refusal
from outreach.decide.decision import ChannelName
from outreach.decide.redact import mask_phone
from outreach.scripts.wording import Fault, known_device
from outreach.store.cases import CaseStore
from outreach.store.directory import DirectoryStore

log = structlog.get_logger(__name__)
FAULTS: Final[tuple[Fault, ...]] = ("lag", "disconnect", "flapping", "line")


class AgentCalls:
    """Places an agent's call to a family and records it on the case."""

    def __init__(
        self,
        cases: CaseStore,
        directory: DirectoryStore,
        channels: Mapping[ChannelName, Channel],
        device_of: DeviceOf,
        *,
        conn_of: DeviceOf | None = None,
    ) -> None:
        self.cases = cases
        self.directory = directory
        self.channels = channels  # the runtime's (filled in as they start)
        self.device_of = device_of
        self.conn_of = conn_of  # case id -> the session's connection type, if known

    async def call(self, case: Case, agent: str) -> SendResult | Refusal:
        """Ring the family's guardian for `agent` (who holds the case)."""
        return await self.send(case, agent, "call")

    async def text(self, case: Case, agent: str) -> SendResult | Refusal:
        """Send the family's guardian the SMS for `agent` (e.g. after a call nobody answered)."""
        return await self.send(case, agent, "sms")

    async def send(self, case: Case, agent: str, channel: ChannelName) -> SendResult | Refusal:
        """Reach the family's guardian on `channel` ("call" or "sms") and record it on the case."""
        voice = self.channels.get(channel)
        if voice is None:
            return Refusal("no_phone_provider", f"{channel} is not configured")
        student = None if case.student_id is None else await self.directory.get(case.student_id)
        guardian = None if student is None else reachable_guardian(student, channel)
        if guardian is None or guardian.phone is None:
            return Refusal("no_reachable_phone", str(case.student_id))
        done = sum(1 for e in await self.cases.timeline(case.case_id) if e.kind == channel)
        message = OutboundMessage(
            message_id=f"{case.case_id}:agent-{channel}:{done + 1}",
            case_id=case.case_id,
            student_id=case.student_id or "",
            channel=channel,
            fault=next((f for f in FAULTS if f == case.kind), "lag"),
            to=guardian.phone,
            device=known_device(await self.device_of(case.case_id)),
            language=guardian.language,
            conn=(await self.conn_of(case.case_id) if self.conn_of else None) or "unknown",
        )
        result = await voice.send(message)
        data = {"message_id": message.message_id, "to": mask_phone(guardian.phone),
                "guardian": guardian.name, "status": result.status,
                "provider_id": result.provider_id, "reason": result.reason}  # fmt: skip
        await self.cases.add_event(case.case_id, channel, data, actor=agent)
        await self.cases.record_attempt(case.case_id, channel, {**data, "by": agent})
        log.info("guardian_reached", channel=channel, case_id=case.case_id,
                 to=mask_phone(guardian.phone), status=result.status, actor=agent)
        return result
