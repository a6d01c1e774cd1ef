"""Phone contacts already made to a family, from the case database (survives restarts)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.cases.models import case_events, cases

PHONE_CHANNELS = ("call", "sms")


def local_day_start(ts_ms: int, time_zone: str) -> int:
    """Epoch ms of the local midnight (in `time_zone`) on or before `ts_ms`."""
    try:
        tz = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    local = datetime.fromtimestamp(ts_ms / 1000, UTC).astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return int(midnight.timestamp() * 1000)


async def phone_contacts(
    engine: AsyncEngine, student_id: str, classroom_id: str | None, since_ms: int
) -> tuple[int, int]:
    """Calls and SMS sent to the family: (in this lesson, since `since_ms`), by wall time."""
    stmt = (
        sa.select(cases.c.classroom_id, case_events.c.at, case_events.c.data)
        .join(cases, cases.c.case_id == case_events.c.case_id)
        .where(cases.c.student_id == student_id, case_events.c.kind == "attempt")
    )
    lesson = day = 0
    async with engine.connect() as conn:
        for room, at, data in (await conn.execute(stmt)).all():
            if data.get("channel") not in PHONE_CHANNELS or data.get("status") == "failed":
                continue
            lesson += int(classroom_id is not None and room == classroom_id)
            day += int(at >= since_ms)
    return lesson, day
