"""The family directory in the case database: students and their guardians (SQL only)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.decide.clock import Clock, now_ms
from outreach.decide.family import Guardian, Student, parse_quiet_hours
from outreach.store.models import guardians, students


class DirectoryStore:
    """Students and guardians in the case database."""

    def __init__(self, engine: AsyncEngine, clock: Clock = now_ms) -> None:
        self.engine = engine
        self.clock = clock

    async def save(self, batch: Iterable[Student]) -> int:
        """Insert or replace students (and all their guardians) in one transaction."""
        now = self.clock()
        count = 0
        async with self.engine.begin() as conn:
            for student in batch:
                await conn.execute(
                    guardians.delete().where(guardians.c.student_id == student.student_id)
                )
                await conn.execute(
                    students.delete().where(students.c.student_id == student.student_id)
                )
                await conn.execute(
                    students.insert().values(
                        student_id=student.student_id,
                        name=student.name,
                        language=student.language,
                        time_zone=student.time_zone,
                        updated_at=now,
                    )
                )
                await conn.execute(
                    guardians.insert(),
                    [
                        _guardian_row(student.student_id, i, g)
                        for i, g in enumerate(student.guardians)
                    ],
                )
                count += 1
        return count

    async def get(self, student_id: str) -> Student | None:
        """A student with their guardians in contact order, or None."""
        async with self.engine.connect() as conn:
            srow = (
                await conn.execute(sa.select(students).where(students.c.student_id == student_id))
            ).first()
            if srow is None:
                return None
            grows = (
                await conn.execute(
                    sa.select(guardians)
                    .where(guardians.c.student_id == student_id)
                    .order_by(guardians.c.position)
                )
            ).all()
        return Student(
            student_id=srow.student_id,
            name=srow.name,
            language=srow.language,
            time_zone=srow.time_zone,
            guardians=tuple(_guardian(g._mapping) for g in grows),
        )

    async def count(self) -> int:
        """How many students the directory holds."""
        async with self.engine.connect() as conn:
            return int(
                (await conn.execute(sa.select(sa.func.count()).select_from(students))).scalar_one()
            )


def _guardian_row(student_id: str, position: int, g: Guardian) -> dict[str, Any]:
    return {
        "student_id": student_id,
        "position": position,
        "name": g.name,
        "phone": g.phone,
        "relation": g.relation,
        "preferred_channel": g.preferred_channel,
        "language": g.language,
        "time_zone": g.time_zone,
        "quiet_start": None if g.quiet_hours is None else f"{g.quiet_hours.start:%H:%M}",
        "quiet_end": None if g.quiet_hours is None else f"{g.quiet_hours.end:%H:%M}",
        "do_not_call": g.do_not_call,
    }


def _guardian(m: sa.RowMapping) -> Guardian:
    quiet = None
    if m["quiet_start"] and m["quiet_end"]:
        quiet = parse_quiet_hours(f"{m['quiet_start']}-{m['quiet_end']}")
    return Guardian(
        name=m["name"],
        phone=m["phone"],
        relation=m["relation"],
        preferred_channel=m["preferred_channel"],
        language=m["language"],
        time_zone=m["time_zone"],
        quiet_hours=quiet,
        do_not_call=bool(m["do_not_call"]),
    )


