"""The cases of a period as facts for the voice-of-the-customer digest, and the digest."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import line_id
from outreach.decide.outcomes import lesson_minutes_lost
from outreach.decide.voc import UNKNOWN, CaseFact, line_parts, period_figures
from outreach.decide.voc_rules import Digest, build_digest
from outreach.store.followups import satisfaction_by, satisfaction_of
from outreach.store.goodwill import GoodwillStore
from outreach.store.line_problems import related_lines
from outreach.store.models import case_events, cases, session_context
from outreach.store.unit import read

RECORD_EVENTS: Final = ("opened", "incident_update", "incident_closed")
MAX_PERIOD_MS: Final = 93 * 86_400_000  # a quarter: the digest reads every case of two periods


def _text(value: Any) -> str:
    return UNKNOWN if value is None or value == "" else str(value)


def _fact(r: Any, opened: dict[str, Any], first_contact: int | None, until_ms: int) -> CaseFact:
    if r.lesson_minutes_lost is not None:
        minutes = float(r.lesson_minutes_lost)
    elif r.kind == "line":
        minutes = 0.0  # counted through the session problems on the line
    else:
        minutes = lesson_minutes_lost(r.incident_started_at, r.incident_ended_at or until_ms,
                                      r.lesson_end)
    line = _text(r.line) if r.line not in (None, "", UNKNOWN) else _text(opened.get("line"))
    edge, isp_region = line_parts(line)
    detected = opened.get("detected_at")
    sessions = opened.get("sessions") or ()
    return CaseFact(
        case_id=r.case_id,
        kind=r.kind,
        started_at=int(r.incident_started_at),
        ended_at=None if r.incident_ended_at is None else int(r.incident_ended_at),
        detected_at=int(detected) if isinstance(detected, int) else None,
        first_contact_at=first_contact,
        minutes_lost=minutes,
        student_id=_text(r.student_id),
        classroom_id=_text(r.classroom_id),
        teacher=_text(r.teacher),
        device=_text(r.device),
        os=_text(r.os),
        app_version=_text(r.app_version),
        edge=edge,
        isp_region=isp_region,
        line=line,
        cause=_text(r.cause or r.kind),
        outcome=r.outcome if r.state == "closed" and r.outcome else "open",
        sessions=tuple(str(s) for s in sessions if isinstance(s, str))[:10_000],
    )


async def case_facts(engine: AsyncEngine, since_ms: int, until_ms: int) -> list[CaseFact]:
    """Every case whose problem began in [since, until), with its context and first contact."""
    first_contact = (
        sa.select(case_events.c.case_id, sa.func.min(case_events.c.at).label("at"))
        .where(case_events.c.kind == "attempt")
        .group_by(case_events.c.case_id)
        .subquery()
    )
    related = related_lines()  # a line case under another line case: part of that outage
    stmt = (
        sa.select(
            related.c.parent.label("related_case"), cases.c.case_id, cases.c.kind,
            cases.c.student_id, cases.c.classroom_id,
            cases.c.state, cases.c.outcome, cases.c.lesson_minutes_lost,
            cases.c.incident_started_at, cases.c.incident_ended_at,
            session_context.c.teacher, session_context.c.device, session_context.c.os,
            session_context.c.app_version, session_context.c.line, session_context.c.cause,
            session_context.c.lesson_end, first_contact.c.at.label("first_contact_at"),
        )
        .select_from(cases)
        .outerjoin(session_context, session_context.c.case_id == cases.c.case_id)
        .outerjoin(first_contact, first_contact.c.case_id == cases.c.case_id)
        .outerjoin(related, related.c.case_id == cases.c.case_id)
        .where(cases.c.incident_started_at >= since_ms, cases.c.incident_started_at < until_ms)
        .order_by(cases.c.incident_started_at, cases.c.case_id)
    )
    records_stmt = (  # a line incident's records: its detection time, line and sessions
        sa.select(case_events.c.case_id, case_events.c.kind, case_events.c.data)
        .select_from(case_events.join(cases, cases.c.case_id == case_events.c.case_id))
        .where(case_events.c.kind.in_(RECORD_EVENTS), cases.c.kind == "line",
               cases.c.incident_started_at >= since_ms, cases.c.incident_started_at < until_ms)
        .order_by(case_events.c.event_id)
    )
    opened: dict[str, dict[str, Any]] = {}
    async with read(engine) as conn:
        rows = (await conn.execute(stmt)).all()
        for r in await conn.execute(records_stmt):
            if not isinstance(r.data, dict):
                continue
            seen = opened.setdefault(r.case_id, {"sessions": []})
            if r.kind == "opened":
                seen["detected_at"] = r.data.get("detected_at")
                if isinstance(r.data.get("line"), dict):
                    seen["line"] = line_id({str(k): str(v) for k, v in r.data["line"].items()})
            if isinstance(r.data.get("sessions"), list):
                seen["sessions"] = sorted({*seen["sessions"], *r.data["sessions"]})
    facts = [_fact(r, opened.get(r.case_id, {}),
                   None if r.first_contact_at is None else int(r.first_contact_at), until_ms)
             for r in rows]
    line_of = {f.case_id: f.line for f in facts if f.kind == "line"}
    parents = {r.case_id: r.related_case for r in rows if r.kind == "line" and r.related_case}
    return [replace(f, related_to=line_of[parents[f.case_id]])  # under its edge's incident
            if parents.get(f.case_id) in line_of else f for f in facts]


async def digest_for(engine: AsyncEngine, since_ms: int, until_ms: int) -> Digest:
    """The digest of [since, until), beside the period of the same length before it.

    At most `MAX_PERIOD_MS` long (ValueError otherwise): it reads every case of both periods.
    """
    span = until_ms - since_ms
    if not 0 < span <= MAX_PERIOD_MS:
        raise ValueError(f"the period must be longer than 0 and at most "
                         f"{MAX_PERIOD_MS // 86_400_000} days")
    current = period_figures(await case_facts(engine, since_ms, until_ms), since_ms, until_ms)
    earlier = since_ms - span
    previous = period_figures(await case_facts(engine, earlier, since_ms), earlier, since_ms)
    goodwill = GoodwillStore(engine)
    current.goodwill.update(await goodwill.given(since_ms, until_ms))
    previous.goodwill.update(await goodwill.given(earlier, since_ms))
    current.satisfaction = await satisfaction_of(engine, since_ms, until_ms)
    previous.satisfaction = await satisfaction_of(engine, earlier, since_ms)
    current.satisfaction_by = await satisfaction_by(engine, since_ms, until_ms)
    return build_digest(current, previous)
