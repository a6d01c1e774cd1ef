"""Finding cases for an agent: by student, guardian, a phone's last digits or the case id.

Every query is bounded (`MAX_RESULTS` rows, a text of at most `MAX_TEXT` characters, LIKE
wildcards in it taken literally) and answers masked phone numbers only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.decide.redact import mask_phone
from outreach.store.models import cases, guardians, students
from outreach.store.unit import read

MAX_TEXT: Final = 64
MAX_RESULTS: Final = 50
MIN_PHONE_DIGITS: Final = 4  # fewer would list half the school
PHONE_TEXT = re.compile(r"^[+\d][\d\s().-]*$")


@dataclass(frozen=True, slots=True)
class CaseQuery:
    """What the agent typed and the filters chosen (None: any)."""

    text: str = ""
    kind: str | None = None
    state: str | None = None
    classroom: str | None = None
    limit: int = 20


@dataclass(frozen=True, slots=True)
class FoundCase:
    """One case found, with what matched (`case`, `student`, `guardian`, `phone`, `filter`)."""

    case_id: str
    kind: str
    state: str
    student_id: str | None
    student_name: str | None
    classroom_id: str | None
    owner: str | None
    outcome: str | None
    opened_at: int
    matched: str
    phone: str | None = None  # the matching guardian's number, masked

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def phone_digits(text: str) -> str | None:
    """The digits of a phone-like text (`"56 1"` -> `"561"`), or None if it is not one."""
    if not PHONE_TEXT.match(text.strip()):
        return None
    return re.sub(r"\D", "", text)


def _like(text: str) -> str:
    """`text` for a LIKE pattern, its wildcards escaped (with backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class CaseSearch:
    """The agent's search box and filters over the case database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def find(self, q: CaseQuery) -> list[FoundCase]:
        """Cases matching the text and filters, newest first, at most `q.limit` (<= 50)."""
        text = q.text.strip()[:MAX_TEXT]
        limit = max(1, min(q.limit, MAX_RESULTS))
        if not text:
            return await self._run(sa.true(), "filter", q, limit)
        digits = phone_digits(text)
        if digits is not None and len(digits) >= MIN_PHONE_DIGITS:
            return await self._by_phone(digits, q, limit)
        pattern = f"%{_like(text)}%"
        found: dict[str, FoundCase] = {}
        for cond, matched in (
            (sa.or_(cases.c.case_id == text, cases.c.case_id.like(f"{_like(text)}%",
                                                                   escape="\\")), "case"),
            (sa.or_(cases.c.student_id == text, students.c.name.ilike(pattern, escape="\\")),
             "student"),
            (cases.c.student_id.in_(sa.select(guardians.c.student_id).where(
                guardians.c.name.ilike(pattern, escape="\\"))), "guardian"),
        ):
            for f in await self._run(cond, matched, q, limit):
                found.setdefault(f.case_id, f)
        ordered = sorted(found.values(), key=lambda f: (-f.opened_at, f.case_id))
        return ordered[:limit]

    async def _by_phone(self, digits: str, q: CaseQuery, limit: int) -> list[FoundCase]:
        stmt = (sa.select(guardians.c.student_id, guardians.c.phone)
                .where(guardians.c.phone.like(f"%{digits}"))
                .order_by(guardians.c.student_id, guardians.c.position)
                .limit(MAX_RESULTS))
        async with read(self.engine) as conn:
            phones: dict[str, str] = {}
            for sid, phone in (await conn.execute(stmt)).all():
                phones.setdefault(sid, phone)
        if not phones:
            return []
        found = await self._run(cases.c.student_id.in_(sorted(phones)), "phone", q, limit)
        return [FoundCase(**{**f.to_dict(), "phone": mask_phone(phones.get(f.student_id or ""))})
                for f in found]

    async def _run(self, cond: Any, matched: str, q: CaseQuery, limit: int) -> list[FoundCase]:
        stmt = (
            sa.select(cases.c.case_id, cases.c.kind, cases.c.state, cases.c.student_id,
                      students.c.name.label("student_name"), cases.c.classroom_id,
                      cases.c.owner, cases.c.outcome, cases.c.opened_at)
            .select_from(cases.outerjoin(students, students.c.student_id == cases.c.student_id))
            .where(cond)
            .order_by(cases.c.opened_at.desc(), cases.c.case_id)
            .limit(limit)
        )
        for column, value in ((cases.c.kind, q.kind), (cases.c.state, q.state),
                              (cases.c.classroom_id, q.classroom)):
            if value:
                stmt = stmt.where(column == value)
        async with read(self.engine) as conn:
            rows = (await conn.execute(stmt)).all()
        return [FoundCase(**dict(r._mapping), matched=matched) for r in rows]
