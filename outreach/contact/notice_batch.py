"""The covered families' notices' send step, for many chains at once (issue 20).

What `ContactChain._send` does for one chat, done here for the notices the lane
(`notice_lane.NoticeLane`) took together, with the same rows and timeline events: the cases
read at once (a resolved or closed one is not contacted), the chat languages read at once
(the chat needs no reachable guardian), every case moved to `contacting` and its `sending`
announced in one transaction (`outreach.store.bulk_sends`: under the cases' locks, so a
family is contacted once across replicas), the messages stored in the outbox in one insert
and pushed to the connected apps (their acks waited for together), then every `attempt`
recorded at once. The line notice names no device or connection (`scripts.wording`, fault
`line`), so the desk's session context is not read. A sending announced before a crash and
never recorded is what `outreach.contact.recovery` resumes: looked up, never pushed again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence

import structlog

from detectors.records import Outreach
from outreach.channels.base import Channel, OutboundMessage, SendResult
from outreach.channels.chat import ChatChannel
from outreach.contact.chain import ESCALATIONS, fault_of
from outreach.contact.metrics import OutreachMetrics
from outreach.contact.notice_lane import NoticeLane, Sent
from outreach.contact.ports import RuntimeConfig
from outreach.decide.decision import ChannelName
from outreach.decide.redact import mask_phone
from outreach.store import bulk_sends
from outreach.store.bulk_sends import Announce, Attempt
from outreach.store.cases import CaseStore
from outreach.store.directory import DirectoryStore

log = structlog.get_logger(__name__)
DEFAULT_LANGUAGE = "zh-CN"  # a student the directory does not know (as the one-case path)


class NoticeBatch:
    """The chat send step of many covered families' chains, in a constant number of statements."""

    def __init__(self, cases: CaseStore, directory: DirectoryStore,
                 channels: Mapping[ChannelName, Channel],
                 metrics: OutreachMetrics) -> None:  # fmt: skip
        self.cases = cases
        self.directory = directory
        self.channels = channels  # the chat looked up when sending (the service adds it late)
        self.metrics = metrics

    async def send(
        self, notices: Sequence[tuple[str, Outreach]], pushed: Callable[[], None]
    ) -> dict[str, Sent | None]:
        """Announce, push and record each notice's chat (one case once); `pushed` is called
        once the messages are out. Each case's (message id, result), None if not contacted."""
        found = await bulk_sends.cases_of(self.cases, [case_id for case_id, _ in notices])
        due = [(found[case_id], o) for case_id, o in notices
               if case_id in found and found[case_id].state not in ("resolved", "closed")]
        out: dict[str, Sent | None] = {case_id: None for case_id, _ in notices}
        if not due:
            return out
        languages = await self.directory.chat_languages([o.student_id for _, o in due])
        moved, announced = await bulk_sends.announce_many(self.cases, [
            Announce(case, "chat", o.reason, o.incident_id,
                     None if o.reason in ESCALATIONS else o.incident_id)
            for case, o in due])  # fmt: skip
        messages = []
        for case, o in due:
            if case.case_id in moved and case.case_id not in announced:
                log.info("contact_taken", case_id=case.case_id, session_id=o.session_id)
            if case.case_id in announced:
                messages.append(OutboundMessage(
                    message_id=announced[case.case_id], case_id=case.case_id,
                    student_id=o.student_id, channel="chat", fault=fault_of(case.kind, o.reason),
                    language=languages.get(o.student_id, DEFAULT_LANGUAGE)))  # fmt: skip
        results = await self._push(messages, pushed)
        await bulk_sends.record_attempts(self.cases, [
            Attempt(m.case_id, "chat", {"message_id": m.message_id, "to": mask_phone(m.to),
                                        "status": r.status, "provider_id": r.provider_id,
                                        "reason": r.reason, "tries": r.attempts})
            for m, r in zip(messages, results, strict=True)])  # fmt: skip
        for m, r in zip(messages, results, strict=True):
            self.metrics.attempts.labels("chat", r.status).inc()
            out[m.case_id] = (m.message_id, r)
        log.info("notices_sent", notices=len(notices), sent=len(messages))
        return out

    async def _push(
        self, messages: Sequence[OutboundMessage], pushed: Callable[[], None]
    ) -> list[SendResult]:
        """Send the messages together (a channel with no bulk push: each at once, together)."""
        if not messages:
            return []
        chat = self.channels.get("chat")
        if chat is None:  # (the chains ask for the lane only while there is a chat)
            pushed()
            return [SendResult("failed", reason="no_channel") for _ in messages]
        if isinstance(chat, ChatChannel):
            stored = await chat.push_many(messages)
            pushed()
            return await chat.results(stored)
        results = await asyncio.gather(*(chat.send(m) for m in messages))
        pushed()
        return list(results)


def notice_lane(config: RuntimeConfig, cases: CaseStore, directory: DirectoryStore,
                channels: Mapping[ChannelName, Channel], metrics: OutreachMetrics) -> NoticeLane:
    """The runtime's lane of covered notices, sending in bulk on the chat of `channels` as it
    is when they send (no chat then: no notice takes the lane)."""
    return NoticeLane(config.covered_notice_concurrency, metrics.notices_waiting,
                      config.covered_notice_max_hold_s,
                      NoticeBatch(cases, directory, channels, metrics).send)
