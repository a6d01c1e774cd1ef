"""How an agent's call to the family went (pure): dialling, ringing, answered, no answer, failed.

The call's own timeline event (what the phone provider said when asked to dial) and the
provider's status callbacks for it (`call_progress`, `call_fallback`, `call_attempt_outcome`
events, tied by message id) fold into one state the console shows live. An outcome that
contradicts the case's record (resolved by a call nobody answered) is named here too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal

from outreach.decide.case import CaseEvent

CallState = Literal["dialling", "ringing", "answered", "no_answer", "failed"]
ENDED_BADLY: Final[frozenset[str]] = frozenset({"no_answer", "failed"})
# Twilio's CallStatus values and the state each one means.
STATUS_STATE: Final[dict[str, CallState]] = {
    "queued": "dialling", "initiated": "dialling", "sent": "dialling",
    "ringing": "ringing",
    "in-progress": "answered", "answered": "answered", "completed": "answered",
    "no-answer": "no_answer", "busy": "no_answer",
    "failed": "failed", "canceled": "failed",
}
CALLBACK_KINDS: Final[frozenset[str]] = frozenset(
    {"call_progress", "call_fallback", "call_attempt_outcome"})
OFFERS: Final[tuple[str, ...]] = ("retry", "sms", "call_back")


@dataclass(frozen=True, slots=True)
class CallProgress:
    """One agent call as it stands now."""

    message_id: str
    state: CallState
    status: str  # the provider's last word (e.g. "no-answer")
    reason: str
    started_at: int
    updated_at: int
    guardian: str
    to: str

    @property
    def offers(self) -> tuple[str, ...]:
        """What the console offers next: after a call that did not get through, other ways."""
        return OFFERS if self.state in ENDED_BADLY else ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON the console shows."""
        return {"message_id": self.message_id, "state": self.state, "status": self.status,
                "reason": self.reason, "started_at": self.started_at,
                "updated_at": self.updated_at, "guardian": self.guardian, "to": self.to,
                "offers": list(self.offers)}


def _state_of(status: str, reason: str = "", answered_by: str = "") -> CallState:
    if answered_by.startswith(("machine", "fax")):
        return "no_answer"
    if status == "failed" and reason in ("no-answer", "busy"):
        return "no_answer"
    return STATUS_STATE.get(status, "dialling")


def _advance(call: CallProgress, event: CaseEvent) -> CallProgress:
    d = event.data
    state = _state_of(str(d.get("status", "")), "", str(d.get("AnsweredBy", "")))
    if call.state in ENDED_BADLY or (call.state == "answered" and state != "answered"):
        return call  # a late "ringing" after the end changes nothing
    return CallProgress(call.message_id, state, str(d.get("status", "")), call.reason,
                        call.started_at, event.at, call.guardian, call.to)


def calls(timeline: Iterable[CaseEvent]) -> list[CallProgress]:
    """Every agent call on the case, oldest first, each at its latest state."""
    out: dict[str, CallProgress] = {}
    by_provider: dict[str, str] = {}
    for e in timeline:
        d = e.data
        if e.kind == "call":
            mid = str(d.get("message_id", f"call-{e.event_id}"))
            status, reason = str(d.get("status", "")), str(d.get("reason") or "")
            out[mid] = CallProgress(mid, _state_of(status, reason), status, reason, e.at, e.at,
                                    str(d.get("guardian") or ""), str(d.get("to") or ""))
            if d.get("provider_id"):
                by_provider[str(d["provider_id"])] = mid
        elif e.kind in CALLBACK_KINDS:
            mid = str(d.get("message_id") or by_provider.get(str(d.get("provider_id")), ""))
            if mid in out:
                out[mid] = _advance(out[mid], e)
    return sorted(out.values(), key=lambda c: c.started_at)


def latest(timeline: Iterable[CaseEvent]) -> CallProgress | None:
    """The agent's most recent call, or None when nobody called from the desk."""
    made = calls(timeline)
    return made[-1] if made else None


def contradiction(outcome: str, timeline: list[CaseEvent], recovered: bool) -> str | None:
    """Why `outcome` contradicts the case's record, or None when the record allows it.

    A call counts as answered when a desk call was, or the provider reported any call
    of the case completed (the contact chain's own calls included).
    """
    made = calls(timeline)
    answered = any(c.state == "answered" for c in made) or any(
        e.kind == "call_attempt_outcome" for e in timeline)
    if outcome == "resolved_by_call" and not answered:
        if not made:
            return "no call on this case was answered"
        return f"no call on this case was answered (last: {made[-1].state.replace('_', ' ')})"
    if outcome == "no_answer" and answered:
        return "a call on this case was answered"
    if outcome == "self_recovered" and not recovered:
        return "the problem has not ended"
    return None
