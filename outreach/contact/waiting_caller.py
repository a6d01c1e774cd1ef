"""A caller waiting for a technician is put through to the agent who claims the case.

The wait is on the case's timeline: a `menu_choice` of `technician` names the call (its
CallSid), and it stops waiting when the call ends (a status callback), when the wait ran
out into a promised call back (`callback_scheduled`), when the caller hung up
(`caller_left`) or once put through (`caller_connected`). Each claim ends with a named
result: `connected`, `no_waiting_caller`, `no_agent_phone`, `no_phone_provider`,
`call_ended` (Twilio: the call is no longer in progress) or `connect_failed`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final, Protocol

import structlog

from outreach.channels.base import SendResult
from outreach.contact.dispatch import reachable_guardian
from outreach.decide.case import CaseEvent
from outreach.decide.redact import mask_phone
from outreach.scripts.wording import DEFAULT_LANGUAGE
from outreach.store.cases import CaseStore
from outreach.store.directory import DirectoryStore

log = structlog.get_logger(__name__)
ENDED: Final = frozenset({"completed", "canceled", "failed", "busy", "no-answer"})
WAIT_OVER: Final = frozenset({"caller_connected", "callback_scheduled", "caller_left"})
NOT_IN_PROGRESS: Final = "21220"  # Twilio: the call is not in progress, cannot redirect


class Connector(Protocol):
    """Puts a live call through to a phone (`outreach.channels.twilio_connect`)."""

    async def connect(
        self, call_sid: str, agent_phone: str, case_id: str, language: str
    ) -> SendResult:
        """Redirect the call to dial `agent_phone`."""
        ...


def waiting_call(events: Iterable[CaseEvent]) -> str | None:
    """The CallSid of the caller still waiting for a technician on this timeline, if any."""
    sid: str | None = None
    for e in events:
        provider = e.data.get("provider_id")
        if e.kind == "menu_choice" and e.data.get("choice") == "technician" and provider:
            sid = str(provider)
        elif sid is not None and provider == sid and (
            e.kind in WAIT_OVER or e.data.get("status") in ENDED
            or (e.kind == "caller_not_connected" and e.data.get("reason") == "call_ended")
        ):
            sid = None
    return sid


class WaitingCallers:
    """On a claim: the waiting caller, if any, is dialled through to the agent's phone."""

    def __init__(
        self,
        cases: CaseStore,
        directory: DirectoryStore,
        connector: Connector | None,
        agent_phones: Mapping[str, str],
    ) -> None:
        self.cases = cases
        self.directory = directory
        self.connector = connector
        self.agent_phones = agent_phones

    async def claimed(self, case_id: str, agent: str) -> str:
        """After `agent` claimed `case_id`: connect its waiting caller; the named result."""
        sid = waiting_call(await self.cases.timeline(case_id))
        if sid is None:
            return "no_waiting_caller"
        phone = self.agent_phones.get(agent)
        if self.connector is None or not phone:
            reason = "no_phone_provider" if self.connector is None else "no_agent_phone"
            await self._not_connected(case_id, sid, agent, reason)
            return reason
        sent = await self.connector.connect(sid, phone, case_id, await self._language(case_id))
        if sent.status == "failed":
            reason = "call_ended" if NOT_IN_PROGRESS in sent.reason else "connect_failed"
            await self._not_connected(case_id, sid, agent, reason, sent.reason)
            return reason
        data = {"provider_id": sid, "agent": agent, "to": mask_phone(phone)}
        await self.cases.add_event(case_id, "caller_connected", data, actor=agent)
        log.info("waiting_caller_connected", case_id=case_id, agent=agent, to=mask_phone(phone))
        return "connected"

    async def _not_connected(
        self, case_id: str, sid: str, agent: str, reason: str, detail: str = ""
    ) -> None:
        data = {"provider_id": sid, "agent": agent, "reason": reason, "detail": detail}
        await self.cases.add_event(case_id, "caller_not_connected", data, actor=agent)
        log.warning("waiting_caller_not_connected", case_id=case_id, agent=agent, reason=reason)

    async def _language(self, case_id: str) -> str:
        case = await self.cases.get(case_id)
        student_id = None if case is None else case.student_id
        student = None if student_id is None else await self.directory.get(student_id)
        guardian = None if student is None else reachable_guardian(student, "call")
        return guardian.language if guardian is not None else DEFAULT_LANGUAGE
