"""What an agent sees of a case's family before calling: the guardians, the chat so far.

Phone numbers leave here masked; the transcript is bounded (`MAX_LINES` lines, each text cut
at `MAX_TEXT` characters).
"""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.decide.family import Guardian
from outreach.decide.redact import mask_phone
from outreach.store.directory import DirectoryStore
from outreach.store.models import case_events, chat_outbox
from outreach.store.unit import read

MAX_LINES: Final = 100
MAX_TEXT: Final = 1000


def guardian_card(g: Guardian, position: int) -> dict[str, Any]:
    """A guardian as the console shows them: name, relationship, language, masked phone."""
    return {"position": position, "name": g.name, "relation": g.relation,
            "language": g.language, "phone": mask_phone(g.phone) or None,
            "preferred_channel": g.preferred_channel, "do_not_call": g.do_not_call,
            "time_zone": g.time_zone,
            "quiet_hours": None if g.quiet_hours is None else str(g.quiet_hours)}


class CaseFamily:
    """Reads the family directory and the chat of a case."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def guardians(self, student_id: str | None) -> dict[str, Any] | None:
        """The student's name and language and the guardians in contact order (None: unknown)."""
        if not student_id:
            return None
        student = await DirectoryStore(self.engine).get(student_id)
        if student is None:
            return None
        return {"student_id": student.student_id, "name": student.name,
                "language": student.language,
                "guardians": [guardian_card(g, i + 1) for i, g in enumerate(student.guardians)]}

    async def transcript(self, case_id: str) -> list[dict[str, Any]]:
        """The case's chat, oldest first: what the app was sent and what the family replied."""
        sent = (sa.select(chat_outbox.c.message_id, chat_outbox.c.payload,
                          chat_outbox.c.created_at, chat_outbox.c.acked_at)
                .where(chat_outbox.c.case_id == case_id)
                .order_by(chat_outbox.c.seq.desc()).limit(MAX_LINES))
        events = (sa.select(case_events.c.at, case_events.c.kind, case_events.c.actor,
                            case_events.c.data)
                  .where(case_events.c.case_id == case_id,
                         case_events.c.kind.in_(("chat_reply", "attempt")))
                  .order_by(case_events.c.event_id.desc()).limit(4 * MAX_LINES))
        async with read(self.engine) as conn:
            out_rows = (await conn.execute(sent)).all()
            ev_rows = (await conn.execute(events)).all()
        lines: list[dict[str, Any]] = []
        kept = set()
        for mid, payload, created, acked in out_rows:
            kept.add(mid)
            text = payload.get("text") if isinstance(payload, dict) else None
            lines.append({"at": created, "from": "firstcall", "message_id": mid,
                          "text": None if text is None else str(text)[:MAX_TEXT],
                          "status": "read by the app" if acked else "not yet delivered"})
        for at, kind, actor, data in ev_rows:
            if kind == "chat_reply":
                lines.append({"at": at, "from": "family", "actor": actor,
                              "text": str(data.get("text", ""))[:MAX_TEXT],
                              "intent": data.get("intent")})
            elif data.get("channel") == "chat" and data.get("message_id") not in kept:
                # Sent through a channel that keeps no outbox (its words are not stored).
                lines.append({"at": at, "from": "firstcall", "message_id": data.get("message_id"),
                              "text": None, "status": str(data.get("status") or "")})
        lines.sort(key=lambda line: line["at"])
        return lines[-MAX_LINES:]
