"""Carrying out one outreach decision: whom to contact, in which words, and the case record.

The policy decides *whether* and *how* (`Outreach.action`); the dispatcher looks the
family up, builds the message, sends it through the chosen channel, and puts the
attempt on the case (moving it to `contacting`, or `waiting_agent` for `agent_queue`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import structlog

from detectors.records import Outreach
from outreach.channels.base import Channel, OutboundMessage, SendResult
from outreach.decide.case_states import Refusal
from outreach.decide.decision import ChannelName
from outreach.decide.family import Guardian, Student
from outreach.decide.redact import mask_phone
from outreach.scripts.wording import Device, Fault
from outreach.store.cases import CaseStore
from outreach.store.directory import DirectoryStore

log = structlog.get_logger(__name__)


def reachable_guardian(student: Student, action: ChannelName) -> Guardian | None:
    """The first guardian (in contact order) this action can reach; do-not-call skips phones."""
    if action == "chat":
        return student.guardians[0] if student.guardians else None
    for guardian in student.guardians:
        if guardian.phone and not guardian.do_not_call:
            return guardian
    return None


@dataclass
class Dispatcher:
    """Sends what the policy chose and records it on the case."""

    cases: CaseStore
    directory: DirectoryStore
    channels: Mapping[ChannelName, Channel]

    async def execute(
        self, decision: Outreach, fault: Fault, device: Device = "pc"
    ) -> SendResult | None:
        """Carry out `decision`; None when there was nothing to send (`none`, `agent_queue`)."""
        logger = log.bind(case_id=decision.case_id, action=decision.action)
        case = await self.cases.get(decision.case_id)
        if case is None or case.state in ("resolved", "closed"):
            state = "missing" if case is None else case.state
            logger.info("dispatch_skipped", state=state)
            return SendResult("failed", reason=f"case_{state}")
        if decision.action == "none":
            return None
        if decision.action == "agent_queue":
            await self.cases.transition(decision.case_id, "waiting_agent", reason=decision.reason)
            return None
        action: ChannelName = decision.action
        channel = self.channels.get(action)
        student = await self.directory.get(decision.student_id)
        guardian = None if student is None else reachable_guardian(student, action)
        if channel is None or student is None or (guardian is None and action != "chat"):
            reason = "no_channel" if channel is None else "no_reachable_guardian"
            logger.warning("dispatch_impossible", reason=reason)
            await self.cases.add_event(decision.case_id, "attempt_impossible", {"reason": reason})
            return SendResult("failed", reason=reason)
        message = OutboundMessage(
            message_id=f"{decision.case_id}:{action}:{case.attempts + 1}",
            case_id=decision.case_id,
            student_id=decision.student_id,
            channel=action,
            fault=fault,
            to=None if action == "chat" or guardian is None else guardian.phone,
            device=device,
            language=guardian.language if guardian is not None else student.language,
        )
        moved = await self.cases.transition(decision.case_id, "contacting", reason=decision.reason)
        if isinstance(moved, Refusal):
            logger.info("dispatch_refused", reason=moved.reason)
            return SendResult("failed", reason=moved.reason)
        result = await channel.send(message)
        await self.cases.record_attempt(
            decision.case_id,
            action,
            {
                "message_id": message.message_id,
                "to": mask_phone(message.to),
                "status": result.status,
                "provider_id": result.provider_id,
                "reason": result.reason,
                "retryable": result.retryable,
                "tries": result.attempts,
            },
        )
        logger.info("dispatched", status=result.status, to=mask_phone(message.to))
        return result
