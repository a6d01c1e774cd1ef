"""Console users and their API tokens: salted SHA-256, constant-time compare, expiring."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from outreach.decide.clock import Clock, now_ms
from outreach.store.models import web_users
from outreach.store.unit import read, tx

Role = Literal["agent", "ops", "viewer"]
ROLES: Final[tuple[Role, ...]] = ("agent", "ops", "viewer")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
PREFIX: Final = "fc"
LAST_USE_STEP_MS: Final = 60_000  # last use is written at most once a minute per user
DAY_MS: Final = 86_400_000
TOKEN_DAYS: Final = 30  # a token's life; `[api] token_days` (settings) takes its default here
MAX_REMEMBERED: Final = 2_000  # tokens remembered by `remember` (the desk's consoles)


@dataclass(frozen=True, slots=True)
class User:
    """An authenticated console user."""

    name: str
    role: Role


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A user as `firstcall user list` shows them: role, expiry and last use (epoch ms)."""

    name: str
    role: Role
    created_at: int
    expires_at: int
    last_used_at: int | None


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

    def __init__(self, engine: AsyncEngine, clock: Clock = now_ms, *,
                 token_ttl_ms: int = TOKEN_DAYS * DAY_MS) -> None:
        self.engine = engine
        self.clock = clock
        self.token_ttl_ms = token_ttl_ms
        self.remember_ms = 0
        self._recent: dict[bytes, tuple[int, User]] = {}  # digest of a token -> (valid until, user)

    def remember(self, ms: int) -> None:
        """Keep a token's successful check for `ms` (bounded by its expiry): the desk's
        consoles ask every second or so. A user removed or re-issued through this store is
        forgotten at once; by another process, within `ms`."""
        self.remember_ms = ms
        self._recent.clear()

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
        now = self.clock()
        values = {"role": role, "token_id": token_id, "salt": salt,
                  "token_hash": _digest(salt, secret), "created_at": now,
                  "expires_at": now + self.token_ttl_ms, "last_used_at": None}
        async with tx(self.engine) as conn:
            await conn.execute(web_users.delete().where(web_users.c.name == name))
            await conn.execute(web_users.insert().values(name=name, **values))
        self._recent.clear()
        return f"{PREFIX}.{token_id}.{secret}"

    async def authenticate(self, token: str) -> User | None:
        """The user a token belongs to, or None (unknown, malformed, wrong secret or expired).

        Records the use (at most once a minute per user) for `firstcall user list`.
        """
        key = hashlib.blake2b(token.encode(), digest_size=16).digest()
        known = self._recent.get(key)
        if known is not None and self.clock() < known[0]:
            return known[1]
        user = await self._check(token)
        if user is not None and self.remember_ms > 0:
            if len(self._recent) >= MAX_REMEMBERED:
                self._recent.clear()
            self._recent[key] = (min(self.clock() + self.remember_ms, user[1]), user[0])
        return None if user is None else user[0]

    async def _check(self, token: str) -> tuple[User, int] | None:
        parts = split_token(token)
        if parts is None:
            return None
        token_id, secret = parts
        stmt = sa.select(web_users).where(web_users.c.token_id == token_id)
        async with read(self.engine) as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            _digest("x" * 32, secret)  # same work either way
            return None
        if not hmac.compare_digest(row.token_hash, _digest(row.salt, secret)):
            return None
        now = self.clock()
        if row.expires_at <= now:
            return None
        if row.last_used_at is None or now - row.last_used_at >= LAST_USE_STEP_MS:
            async with tx(self.engine, single=True) as conn:
                await conn.execute(web_users.update()
                                   .where(web_users.c.token_id == token_id)
                                   .values(last_used_at=now))
        return User(row.name, row.role), int(row.expires_at)

    async def live_tokens(self, token_ids: Iterable[str]) -> set[str]:
        """Which of these token ids still work now (their user exists, not expired)."""
        wanted = sorted(set(token_ids))
        if not wanted:
            return set()
        stmt = sa.select(web_users.c.token_id).where(
            web_users.c.token_id.in_(wanted), web_users.c.expires_at > self.clock())
        async with read(self.engine) as conn:
            return {r.token_id for r in (await conn.execute(stmt)).all()}

    async def list(self) -> list[UserInfo]:
        """Every user with role, expiry and last use (never the token)."""
        async with read(self.engine) as conn:
            rows = (await conn.execute(sa.select(web_users).order_by(web_users.c.name))).all()
        return [UserInfo(r.name, r.role, r.created_at, r.expires_at, r.last_used_at)
                for r in rows]

    async def remove(self, name: str) -> bool:
        """Delete a user (their token stops working); False if there was none."""
        async with tx(self.engine, single=True) as conn:
            done = await conn.execute(web_users.delete().where(web_users.c.name == name))
        self._recent.clear()
        return bool(done.rowcount)
