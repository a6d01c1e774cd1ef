"""Console users and their API tokens: stored as salted SHA-256, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Final, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.decide.clock import Clock, now_ms
from outreach.store.models import web_users

Role = Literal["agent", "ops", "viewer"]
ROLES: Final[tuple[Role, ...]] = ("agent", "ops", "viewer")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
PREFIX: Final = "fc"


@dataclass(frozen=True, slots=True)
class User:
    """An authenticated console user."""

    name: str
    role: Role


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    """`fc.<token_id>.<secret>` -> (token_id, secret), or None when malformed."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


class UserStore:
    """Users in the case database; the token itself is never stored."""

    def __init__(self, engine: AsyncEngine, clock: Clock = now_ms) -> None:
        self.engine = engine
        self.clock = clock

    async def add(self, name: str, role: str) -> str:
        """Create (or re-issue) a user's token; returns the token, shown only this once."""
        return await self._store(name, role, secrets.token_hex(6), secrets.token_urlsafe(24))

    async def restore(self, name: str, role: str, token: str) -> str:
        """Register a token issued before (the demo keeps its users' tokens across runs)."""
        parts = split_token(token)
        if parts is None:
            raise ValueError("not a FirstCall token")
        return await self._store(name, role, *parts)

    async def _store(self, name: str, role: str, token_id: str, secret: str) -> str:
        if not NAME.match(name):
            raise ValueError(f"bad user name {name!r}: letters, digits, _ . @ - (max 64)")
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
        salt = secrets.token_hex(16)
        values = {"role": role, "token_id": token_id, "salt": salt,
                  "token_hash": _digest(salt, secret), "created_at": self.clock()}
        async with self.engine.begin() as conn:
            await conn.execute(web_users.delete().where(web_users.c.name == name))
            await conn.execute(web_users.insert().values(name=name, **values))
        return f"{PREFIX}.{token_id}.{secret}"

    async def authenticate(self, token: str) -> User | None:
        """The user a token belongs to, or None (unknown, malformed or wrong secret)."""
        parts = split_token(token)
        if parts is None:
            return None
        token_id, secret = parts
        stmt = sa.select(web_users).where(web_users.c.token_id == token_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            _digest("x" * 32, secret)  # same work either way
            return None
        if not hmac.compare_digest(row.token_hash, _digest(row.salt, secret)):
            return None
        return User(row.name, row.role)

    async def list(self) -> list[User]:
        """Every user (names and roles only)."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(web_users).order_by(web_users.c.name))).all()
        return [User(r.name, r.role) for r in rows]

    async def remove(self, name: str) -> bool:
        """Delete a user (their token stops working); False if there was none."""
        async with self.engine.begin() as conn:
            done = await conn.execute(web_users.delete().where(web_users.c.name == name))
        return bool(done.rowcount)
