"""The family directory in the case database: students and their guardians (SQL only)."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from outreach.decide.clock import Clock, now_ms
from outreach.decide.family import Guardian, QuietHours, Student, parse_quiet_hours
from outreach.store.models import guardians, sms_opt_outs, students
from outreach.store.unit import read, tx

STUDENT_COLUMNS: Final = ("student_id", "name", "language", "time_zone", "updated_at")
GUARDIAN_COLUMNS: Final = ("student_id", "position", "name", "phone", "relation",
                           "preferred_channel", "language", "time_zone", "quiet_start",
                           "quiet_end", "do_not_call")
DELETE_CHUNK: Final = 5_000  # ids per DELETE ... IN (...) (SQLite allows 32,766 parameters)


class BulkWriter:
    """Replaces students batch by batch in one transaction: COPY on PostgreSQL, else executemany.

    Each batch's new students lose their old rows first (guardians, then the student),
    so a student imported again gets exactly the guardians of the new file.
    """

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"

    async def write(self, new_students: Sequence[tuple[Any, ...]],
                    guardian_rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert `new_students` (replacing any stored) and `guardian_rows` (column order above)."""
        ids = [row[0] for row in new_students]
        if self.postgres:  # one array parameter: no statement of 5,000 placeholders to plan
            driver = await self._driver()
            if ids:
                for table in ("guardians", "students"):
                    await driver.execute(
                        f"DELETE FROM {table} WHERE student_id = ANY($1::text[])", ids)
            await self._copy(driver, "students", STUDENT_COLUMNS, new_students)
            await self._copy(driver, "guardians", GUARDIAN_COLUMNS, guardian_rows)
            return
        for i in range(0, len(ids), DELETE_CHUNK):
            chunk = ids[i:i + DELETE_CHUNK]
            await self.conn.execute(guardians.delete().where(guardians.c.student_id.in_(chunk)))
            await self.conn.execute(students.delete().where(students.c.student_id.in_(chunk)))
        for table, columns, rows in (("students", STUDENT_COLUMNS, new_students),
                                     ("guardians", GUARDIAN_COLUMNS, guardian_rows)):
            if rows:
                marks = ", ".join("?" for _ in columns)
                await self.conn.exec_driver_sql(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", list(rows))

    async def _driver(self) -> Any:
        raw = await self.conn.get_raw_connection()
        return raw.driver_connection  # asyncpg's connection, in this transaction

    @staticmethod
    async def _copy(driver: Any, table: str, columns: Sequence[str],
                    rows: Sequence[tuple[Any, ...]]) -> None:
        if rows:
            await driver.copy_records_to_table(table, records=rows, columns=list(columns))


class DirectoryStore:
    """Students and guardians in the case database."""

    def __init__(self, engine: AsyncEngine, clock: Clock = now_ms) -> None:
        self.engine = engine
        self.clock = clock

    @asynccontextmanager
    async def bulk(self) -> AsyncIterator[BulkWriter]:
        """A writer for a large import: everything it writes commits at the end, or nothing."""
        async with tx(self.engine) as conn:
            await conn.execute(sa.select(1))  # the transaction is open before any COPY
            yield BulkWriter(conn)

    async def save(self, batch: Iterable[Student]) -> int:
        """Insert or replace students (and all their guardians) in one transaction."""
        now = self.clock()
        count = 0
        async with tx(self.engine) as conn:
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
        """A student with their guardians in contact order, or None (one statement)."""
        return (await self._read(student_id, opt_outs=False))[0]

    async def with_opt_outs(self, student_id: str) -> tuple[Student | None, set[str]]:
        """The student (as `get`) and which of the guardians' phones answered STOP to our
        SMS (`sms_opt_outs`), in one statement."""
        return await self._read(student_id, opt_outs=True)

    async def chat_languages(self, student_ids: Sequence[str]) -> dict[str, str]:
        """The language of each student's chat (its first guardian's, else the student's) for
        the students found among `student_ids` (one query per `DELETE_CHUNK` ids)."""
        s, g = students.c, guardians.c
        out: dict[str, str] = {}
        unique = sorted(set(student_ids))
        async with read(self.engine) as conn:
            for i in range(0, len(unique), DELETE_CHUNK):
                stmt = (
                    sa.select(s.student_id, s.language, g.language.label("g_language"))
                    .select_from(students.outerjoin(guardians, g.student_id == s.student_id))
                    .where(s.student_id.in_(unique[i:i + DELETE_CHUNK]))
                    .order_by(s.student_id, g.position.desc())  # the first guardian last
                )
                for r in (await conn.execute(stmt)).all():
                    out[r.student_id] = r.language if r.g_language is None else r.g_language
        return out

    async def _read(self, student_id: str, *, opt_outs: bool) -> tuple[Student | None, set[str]]:
        s, g = students.c, guardians.c
        kept = [c.label(f"g_{c.name}") for c in guardians.c if c.name in GUARDIAN_FIELDS]
        joined = students.outerjoin(guardians, g.student_id == s.student_id)
        stopped: list[Any] = []
        if opt_outs:
            joined = joined.outerjoin(sms_opt_outs, sms_opt_outs.c.phone == g.phone)
            stopped = [sms_opt_outs.c.phone.label("stopped")]
        stmt = (
            sa.select(s.student_id, s.name, s.language, s.time_zone, g.guardian_id, *kept,
                      *stopped)
            .select_from(joined)
            .where(s.student_id == student_id)
            .order_by(g.position)
        )
        async with read(self.engine) as conn:
            rows = (await conn.execute(stmt)).all()
        if not rows:
            return None, set()
        first = rows[0]
        student = Student(
            student_id=first.student_id,
            name=first.name,
            language=first.language,
            time_zone=first.time_zone,
            guardians=tuple(
                _guardian({f: r._mapping[f"g_{f}"] for f in GUARDIAN_FIELDS})
                for r in rows if r.guardian_id is not None
            ),
        )
        return student, {r.stopped for r in rows if opt_outs and r.stopped is not None}

    async def count(self) -> int:
        """How many students the directory holds."""
        async with read(self.engine) as conn:
            return int(
                (await conn.execute(sa.select(sa.func.count()).select_from(students))).scalar_one()
            )


def guardian_values(student_id: str, position: int, g: Guardian) -> tuple[Any, ...]:
    """A guardian as a row of `GUARDIAN_COLUMNS` (for :class:`BulkWriter`)."""
    start, end = _quiet_columns(g.quiet_hours)
    return (student_id, position, g.name, g.phone, g.relation, g.preferred_channel, g.language,
            g.time_zone, start, end, g.do_not_call)


@functools.lru_cache(maxsize=1024)
def _quiet_columns(quiet: QuietHours | None) -> tuple[str | None, str | None]:
    if quiet is None:
        return None, None
    return f"{quiet.start:%H:%M}", f"{quiet.end:%H:%M}"


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


GUARDIAN_FIELDS: Final = ("name", "phone", "relation", "preferred_channel", "language",
                          "time_zone", "quiet_start", "quiet_end", "do_not_call")


def _guardian(m: Mapping[str, Any]) -> Guardian:
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


