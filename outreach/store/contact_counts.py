"""Phone contacts already made to a family, from the case database (survives restarts)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.store.models import case_events, cases
from outreach.store.unit import read

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


def _made(attempt: dict[str, object]) -> bool:
    """A send that went out (ours carry a status) or an agent's call (`by`)."""
    if "by" in attempt:
        return True
    return "status" in attempt and attempt["status"] != "failed"


async def phone_contacts(
    engine: AsyncEngine, student_id: str, classroom_id: str | None, since_ms: int
) -> tuple[int, int]:
    """Phone contacts of the family: (in this lesson, since `since_ms`), by wall time."""
    # A case's calls count; its SMS only when it had no call (an SMS-first family): the
    # fallback SMS after a missed call is part of that call. Attempts noted without a
    # send status (the desk notes decisions as attempts) do not count.
    stmt = (
        sa.select(cases.c.case_id, cases.c.classroom_id, case_events.c.at, case_events.c.data)
        .join(cases, cases.c.case_id == case_events.c.case_id)
        .where(cases.c.student_id == student_id, case_events.c.kind == "attempt")
    )
    made: dict[str, dict[str, list[tuple[bool, bool]]]] = {}
    async with read(engine) as conn:
        for case_id, room, at, data in (await conn.execute(stmt)).all():
            channel = data.get("channel")
            if channel in PHONE_CHANNELS and _made(data):
                here = classroom_id is not None and room == classroom_id
                made.setdefault(case_id, {}).setdefault(channel, []).append((here, at >= since_ms))
    lesson = day = 0
    for by_channel in made.values():
        for here, today in by_channel.get("call") or by_channel.get("sms", []):
            lesson += int(here)
            day += int(today)
    return lesson, day
