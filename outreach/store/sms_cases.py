"""The SQL of SMS replies: who texted, which case they mean, and the cases an SMS opens.

An SMS opens a follow-up of a closed case, or a request from a family with none. Both
get the case id `case-reply-<MessageSid>` and are opened idempotently
(`CaseStore.open_case`), so a message Twilio posts twice opens one case.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import sqlalchemy as sa

from detectors.records import Incident, stable_id
from outreach.decide.case import Case, Opened
from outreach.decide.redact import mask_phone
from outreach.decide.sms_intents import InboundSms, SmsIntent
from outreach.store.case_reads import case_from_row
from outreach.store.cases import CaseStore
from outreach.store.models import case_events, cases, guardians
from outreach.store.unit import read

# The kind of a case no incident opened: the family texted us for help.
FAMILY_REQUEST: Final = "family_request"


def reply_sid(sms: InboundSms, now: int) -> str:
    """The MessageSid (Twilio always sends one), else an id from the message itself."""
    return sms.message_sid or stable_id("sms", sms.from_number, sms.body, now)


def opened_by(case: Case, sms: InboundSms) -> bool:
    """True when this very message opened the case (Twilio posted it again)."""
    return bool(sms.message_sid) and case.incident_id.endswith(f"-reply-{sms.message_sid}")


def _reply_data(sms: InboundSms, intent: SmsIntent, **extra: Any) -> dict[str, Any]:
    return {"text": sms.body, "intent": intent, "message_sid": sms.message_sid,
            "from": mask_phone(sms.from_number), **extra}  # fmt: skip


async def _open(
    store: CaseStore, inc: Incident, policy: Mapping[str, Any], data: dict[str, Any]
) -> Opened:
    opened = await store.open_case(inc, policy, at=inc.started_at)
    if opened.created:
        actor = f"family:{inc.student_id}"
        await store.add_event(opened.case.case_id, "sms_reply", data, actor=actor)
    return opened


async def follow_up(store: CaseStore, case: Case, sms: InboundSms, intent: SmsIntent) -> Opened:
    """A new case for a request about a closed one (same family, session and kind)."""
    now = store.clock()
    sid = reply_sid(sms, now)
    inc = Incident(
        incident_id=f"{case.kind}-reply-{sid}", kind=case.kind,  # type: ignore[arg-type]
        state="closed", started_at=now, detected_at=now, ended_at=now, line={},
        evidence={"follow_up_of": case.case_id, "message_sid": sms.message_sid},
        session_id=case.session_id, student_id=case.student_id,
        classroom_id=case.classroom_id,
    )  # fmt: skip
    return await _open(store, inc, case.policy, _reply_data(sms, intent, follow_up_of=case.case_id))


async def family_request(
    store: CaseStore,
    student_id: str,
    sms: InboundSms,
    intent: SmsIntent,
    policy: Mapping[str, Any],
) -> Opened:
    """A case for a family that asks for help with no case open or recent (no session)."""
    now = store.clock()
    sid = reply_sid(sms, now)
    inc = Incident(
        incident_id=f"{FAMILY_REQUEST}-reply-{sid}", kind=FAMILY_REQUEST,  # type: ignore[arg-type]
        state="closed", started_at=now, detected_at=now, ended_at=now, line={},
        evidence={"asked_by_sms": True, "message_sid": sms.message_sid},
        student_id=student_id,
    )  # fmt: skip
    return await _open(store, inc, policy, _reply_data(sms, intent))


async def student_to_help(store: CaseStore, student_ids: list[str]) -> str:
    """Which of a guardian's children the request is about, so the queue finds its helper.

    The child an agent helped last (the queue offers the case to that agent), else the
    child with the newest case, else the first.
    """
    c, e = cases.c, case_events.c
    claimed = (
        sa.select(c.student_id)
        .join(case_events, e.case_id == c.case_id)
        .where(c.student_id.in_(student_ids), e.kind == "claimed")
        .order_by(e.event_id.desc())
        .limit(1)
    )
    newest = (
        sa.select(c.student_id)
        .where(c.student_id.in_(student_ids))
        .order_by(c.opened_at.desc())
        .limit(1)
    )
    async with read(store.engine) as conn:
        for stmt in (claimed, newest):
            found = (await conn.execute(stmt)).scalar()
            if found is not None:
                return str(found)
    return sorted(student_ids)[0]


async def family_languages(store: CaseStore, phone: str) -> dict[str, str]:
    """Student id -> language of the guardian with this number (siblings share one)."""
    if not phone:
        return {}
    stmt = (
        sa.select(guardians.c.student_id, guardians.c.language)
        .where(guardians.c.phone == phone)
        .order_by(guardians.c.student_id)
    )
    async with read(store.engine) as conn:
        return {str(s): str(lang) for s, lang in (await conn.execute(stmt)).all()}


async def case_to_answer(
    store: CaseStore, student_ids: list[str], closed_since: int
) -> Case | None:
    """The newest open case of these students, else the newest closed since `closed_since`."""
    c = cases.c
    stmt = (
        sa.select(cases)
        .where(
            c.student_id.in_(student_ids),
            sa.or_(c.state != "closed", c.closed_at >= closed_since),
        )
        .order_by(sa.case((c.state == "closed", 1), else_=0), c.opened_at.desc())
        .limit(1)
    )
    async with read(store.engine) as conn:
        row = (await conn.execute(stmt)).first()
    return None if row is None else case_from_row(row)
