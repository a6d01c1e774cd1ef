"""The runtime's locks, one per case or student: kept only while someone holds or awaits one.

A lock per student ever seen, or per line incident, kept for good, grows with every family
that ever had a problem; a lock nobody holds or waits for protects nothing and is dropped.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from outreach.store import unit
from outreach.store.cases import CaseStore


class KeyedLocks:
    """An asyncio lock per key, made when first wanted and forgotten once idle."""

    def __init__(self, cases: CaseStore) -> None:
        self.engine = cases.engine  # a batch on it commits before a lock is waited for
        self.locks: dict[str, asyncio.Lock] = {}
        self._users: Counter[str] = Counter()  # holding or waiting, by key

    def __len__(self) -> int:
        return len(self.locks)

    def lock(self, key: str) -> asyncio.Lock:
        """The key's lock (made now if nobody has it)."""
        return self.locks.setdefault(key, asyncio.Lock())

    def forget(self, key: str) -> None:
        """The key's case is over: drop its lock (one still in use stays its users')."""
        if not self._users.get(key):
            self.locks.pop(key, None)

    @asynccontextmanager
    async def held(self, key: str) -> AsyncIterator[None]:
        """Hold the key's lock (in a batch: what it holds committed before waiting)."""
        lock = self.lock(key)
        self._users[key] += 1
        try:
            async with unit.holding(self.engine, lock):
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                if not lock.locked() and self.locks.get(key) is lock:
                    del self.locks[key]
