"""GET /api/queue as JSON bytes encoded once for every console, with an ETag for 304s.

The queue view is the same for every console that asks with the same filters: who a
case is offered to, who holds it and who is online are in it for everyone, and each
page marks its own ("for you", "mine") itself. So the view is built and encoded once
per variant (the filters) and kept while nothing it is made of moved: the hub's change
count (queue changes, from any process on PostgreSQL), who is online, the pushes sent to
the consoles, the desk's live views (incident records applied) and the ring's in-class
counts; the last two, which move many times a second in an outage, at most once per push
interval. Its clock-dependent
parts (waits, service level, ranks, problem ages) are kept at most `max_age_s`; where
notices cannot be trusted (SQLite, or the listener not connected) `max_age_s` is 0 and
concurrent requests only share one build.

The ETag is a hash of the view without its `now`: a console that already has the same
content gets a 304 and no body (a weak tag: the same content, not the same bytes).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Final

import orjson

MAX_VARIANTS: Final = 64  # filter combinations kept (a classroom filter is free text)


@dataclass(frozen=True, slots=True)
class Encoded:
    """One view, encoded: the body and its entity tag."""

    body: bytes
    etag: str


def encode(view: dict[str, Any]) -> Encoded:
    """The view's JSON bytes and a weak ETag of its content without `now`."""
    body = orjson.dumps(view)
    digest = hashlib.blake2b(orjson.dumps({**view, "now": None}), digest_size=12).hexdigest()
    return Encoded(body, f'W/"{digest}"')


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names this ETag (weak comparison, or `*`)."""
    if not if_none_match:
        return False
    bare = etag.removeprefix("W/")
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == bare:
            return True
    return False


@dataclass(slots=True)
class _Entry:
    version: Hashable
    live: Hashable
    at: float
    task: asyncio.Future[Encoded]


class EncodedViews:
    """Views built once per (variant, version) and shared until they change or age."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self.builds = 0  # views built (for tests and the benchmark)

    async def get(self, variant: Hashable, version: Hashable, max_age_s: float,
                  build: Callable[[], Awaitable[dict[str, Any]]], *, live: Hashable = None,
                  live_age_s: float = 0.0) -> Encoded:
        """The encoded view of `variant` at `version`: kept, being built, or built now.

        `live`: the version of what changes many times a second in an outage (the live views,
        the in-class counts): a view built on an older one is kept while younger than
        `live_age_s` (the hub's push interval; the pushes sent are in `version`, so a console
        refetching after a push never gets a view built before it).
        """
        entry = self._entries.get(variant)
        age = 0.0 if entry is None else self.clock() - entry.at
        fresh = entry is not None and entry.version == version and (
            not entry.task.done() or (
                age < max_age_s and (entry.live == live or age < live_age_s)))
        failed = entry is not None and entry.task.done() and (
            entry.task.cancelled() or entry.task.exception() is not None)
        if entry is None or not fresh or failed:

            async def made() -> Encoded:
                return encode(await build())

            entry = _Entry(version, live, self.clock(), asyncio.ensure_future(made()))
            self._entries[variant] = entry
            self.builds += 1
            while len(self._entries) > MAX_VARIANTS:
                self._entries.popitem(last=False)
        self._entries.move_to_end(variant)
        return await asyncio.shield(entry.task)
