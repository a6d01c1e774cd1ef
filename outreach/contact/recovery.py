"""Start-up recovery: carry on the contact chains a stopped runner left half-way.

Nothing announced is sent again: a chain waiting on a send waits again, or takes the answer
the timeline already holds, or the one a look-up finds. A call or SMS whose status callback
never came (refused while the service restarted) is looked up at the provider
(`Channel.status`, in the background, a few at a time, so a slow provider does not hold up
the start): a final status is put on the timeline as its callback would have been and posted
to the waiting chain, which moves on at once (the fallback SMS goes out now, not after the
call wait); a status still in progress is waited for as before. A chat whose attempt was
never recorded (the process died between the app's ack and the record) is looked up in the
outbox: shown (acked), it is recorded as the attempt, delivered at the ack's time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Container, Coroutine, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final

import structlog

from detectors.records import Outreach
from outreach.channels.base import Channel
from outreach.contact.metrics import OutreachMetrics
from outreach.contact.signals import Letter, Mailbox
from outreach.decide.case import Case, CaseEvent
from outreach.decide.decision import ChannelName
from outreach.decide.resume import Next, Waiting, decision_of, resume_point
from outreach.decide.signals import CallbackEvent, callback_signal, classify
from outreach.store.cases import CaseStore

log = structlog.get_logger(__name__)
LOOKUPS_AT_ONCE: Final = 8  # provider look-ups in flight at start-up
RECOVERED: Final = "recorded_after_restart"  # the reason on an attempt recorded by a look-up
Start = Callable[[str, Outreach, ChannelName, Waiting | None], None]
Act = Callable[[str], Awaitable[None]]
Escalate = Callable[[str, str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Plan:
    """How one case's chain carries on: its decision and where it stood."""

    decision: Outreach
    point: Waiting | Next
    events: Sequence[CaseEvent]


def attempt_of(events: Sequence[CaseEvent], message_id: str) -> CaseEvent | None:
    """The recorded attempt of send `message_id` (None: the send's result was never recorded)."""
    return next((e for e in reversed(events)
                 if e.kind == "attempt" and e.data.get("message_id") == message_id), None)


class Recovery:
    """Finds the half-way chains at start-up, restarts them, and looks their last sends up."""

    def __init__(
        self,
        cases: CaseStore,
        channels: Mapping[ChannelName, Channel],
        metrics: OutreachMetrics,
        mailbox: Mailbox,
        *,
        settle: Act,
        start: Start,
        escalate: Escalate,
    ) -> None:
        self.cases = cases
        self.channels = channels
        self.metrics = metrics
        self.mailbox = mailbox
        self.at_once = asyncio.Semaphore(LOOKUPS_AT_ONCE)
        self.pending: set[asyncio.Task[None]] = set()
        self.settle = settle
        self.start = start
        self.escalate = escalate

    async def resume(self, running: Container[str]) -> list[str]:
        """Carry on every `contacting` case's chain not running yet; returns their case ids.

        A chain waiting on a send with no answer yet starts waiting at once; the send is looked
        up meanwhile (in the background, a few at a time) and what the provider says is
        posted to the chain as its callback would have been.
        """
        resumed = []
        for case in await self.cases.cases_in_state("contacting"):
            if case.case_id in running:
                continue
            if case.incident_ended_at is not None:
                await self.settle(case.case_id)
                continue
            found = await self.plan(case)
            if found is None:
                continue
            resumed.append(case.case_id)
            log.info("chain_resumed", case_id=case.case_id, session_id=case.session_id)
            o, point = found.decision, found.point
            if isinstance(point, Waiting):
                self.mailbox.open(case.case_id)  # a look-up's letter waits for the chain
                self.start(case.case_id, o, point.channel, point)
                if point.signal is None:
                    self._background(self._post(case.case_id, found.events, point))
            elif point.step == "agent_queue":
                await self.escalate(case.case_id, "resumed")
            elif point.step in ("call", "sms"):
                self.start(case.case_id, o, "call" if point.step == "call" else "sms", None)
        return resumed

    async def plan(self, case: Case) -> Plan | None:
        """Where the case's chain stood (None: nothing to carry on)."""
        events = await self.cases.timeline(case.case_id)
        # The chain of the last send: a joined incident's escalation, or the first's.
        sends = [e.data.get("incident_id") for e in events if e.kind == "sending"]
        o = decision_of(events, str(sends[-1] if sends and sends[-1] else case.incident_id))
        point = resume_point(events)
        if o is None or point is None:
            return None
        if isinstance(point, Waiting) and point.signal is None:
            attempt = attempt_of(events, point.message_id)
            if attempt is not None and attempt.data.get("status") == "failed":
                point = replace(point, signal="send_failed")  # it stopped before moving on
        return Plan(o, point, events)

    async def aclose(self) -> None:
        """Stop the look-ups still running."""
        for task in list(self.pending):
            task.cancel()
        await asyncio.gather(*self.pending, return_exceptions=True)

    def _background(self, job: Coroutine[object, object, None]) -> None:
        task = asyncio.create_task(job)
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _post(self, case_id: str, events: Sequence[CaseEvent], point: Waiting) -> None:
        """Look the send up and post what it says to the case's chain."""
        try:
            async with self.at_once:
                looked = await self.look_up(case_id, events, point)
        except Exception:  # a failed look-up leaves the wait as it was
            log.exception("status_lookup_failed", case_id=case_id)
            return
        if looked.signal is not None:
            self.mailbox.post(case_id, Letter(point.message_id, looked.signal))

    async def look_up(self, case_id: str, events: Sequence[CaseEvent], point: Waiting) -> Waiting:
        """The wait with what the provider says of its send (unchanged when it says nothing)."""
        attempt = attempt_of(events, point.message_id)
        channel = self.channels.get(point.channel)
        if channel is None:
            return point
        if point.channel == "chat":
            return point if attempt is not None else await self._chat(case_id, point, channel)
        if attempt is None or not attempt.data.get("provider_id"):
            return point  # nothing known to look up (the send's result was never recorded)
        provider_id = str(attempt.data["provider_id"])
        found = await channel.status(provider_id)
        if found is None:
            self._count(case_id, point.channel, "", "unknown")
            return point
        kind = classify(point.channel, found.status, found.detail.get("AnsweredBy", ""))
        event = CallbackEvent(kind, point.channel, found.status, provider_id, case_id,
                              point.message_id, dict(found.detail))  # fmt: skip
        signal = callback_signal(event)
        if signal is None:  # still queued, ringing or in progress: its callback will come
            self._count(case_id, point.channel, found.status, "in_progress")
            return point
        data = {"status": found.status, "provider_id": provider_id, **found.detail,
                "message_id": point.message_id, "via": "status_lookup"}  # fmt: skip
        await self.cases.add_event(case_id, f"{point.channel}_{kind}", data, actor="twilio")
        self._count(case_id, point.channel, found.status, "final")
        return replace(point, signal=signal)

    async def _chat(self, case_id: str, point: Waiting, channel: Channel) -> Waiting:
        """A chat sent without its attempt recorded: shown (acked) counts as delivered."""
        found = await channel.status(point.message_id)
        if found is None:  # never pushed: the runner stopped between announcing and sending
            self._count(case_id, "chat", "", "unknown")
            return point
        shown = found.status == "delivered"
        status = "delivered" if shown else "queued"
        data = {"message_id": point.message_id, "to": "", "status": status,
                "provider_id": point.message_id, "reason": RECOVERED, "tries": 1}  # fmt: skip
        await self.cases.record_attempt(case_id, "chat", data, at=found.at if shown else None)
        self.metrics.attempts.labels("chat", status).inc()
        self._count(case_id, "chat", found.status, "shown" if shown else "not_shown")
        return replace(point, signal="delivered") if shown else point

    def _count(self, case_id: str, channel: str, status: str, result: str) -> None:
        self.metrics.lookups.labels(channel, result).inc()
        log.info("status_looked_up", case_id=case_id, channel=channel, status=status,
                 result=result)  # fmt: skip
