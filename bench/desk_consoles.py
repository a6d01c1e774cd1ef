"""The consoles of `bench.desk_bench`: each polls GET /api/queue and listens on its websocket.

A console does what `static/console.js` does: it polls the queue every `interval` s
(sending the ETag of its last answer as If-None-Match, as `common.js` does), holds the
`/ws` push channel open, and refetches the queue as soon as a `changed` frame names
`queue`. Meanwhile the outreach side (`queue_cases`: its own engine, as `firstcall
outreach` in its own process) queues cases one by one; for each case and console the
bench notes when the push came and when the console's queue first showed the case.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import connect


@dataclass
class Seen:
    """What the consoles saw: request timings, and per queued case when each console saw it."""

    took_ms: list[float] = field(default_factory=list)  # every GET /api/queue
    statuses: dict[int, int] = field(default_factory=dict)
    body_bytes: int = 0
    failed: int = 0
    queued: dict[str, float] = field(default_factory=dict)  # case -> queued (perf_counter)
    pushed: dict[str, list[float]] = field(default_factory=dict)  # case -> s to each push
    shown: dict[str, list[float]] = field(default_factory=dict)  # case -> s until listed


class Console:
    """One agent's console."""

    def __init__(self, http: httpx.AsyncClient, base: str, token: str, seen: Seen,
                 etag: bool) -> None:
        self.http, self.base, self.token, self.seen, self.etag = http, base, token, seen, etag
        self.tag: str | None = None
        self.listed: set[str] = set()
        self.wake = asyncio.Event()
        self.waiting_push: set[str] = set()  # queued cases no push has announced yet

    async def fetch(self) -> None:
        """GET the queue once, timed; note the queued cases it shows for the first time."""
        headers = {"Authorization": f"Bearer {self.token}"}
        if self.etag and self.tag:
            headers["If-None-Match"] = self.tag
        start = time.perf_counter()
        try:
            r = await self.http.get("/api/queue", headers=headers)
        except httpx.HTTPError:
            self.seen.failed += 1
            return
        done = time.perf_counter()
        self.seen.took_ms.append((done - start) * 1000)
        self.seen.statuses[r.status_code] = self.seen.statuses.get(r.status_code, 0) + 1
        if r.status_code != 200:
            return
        self.seen.body_bytes += len(r.content)
        self.tag = r.headers.get("etag")
        ids = {w["case_id"] for w in orjson.loads(r.content)["waiting"]}
        for case_id in ids - self.listed:
            if case_id in self.seen.queued:
                self.seen.shown[case_id].append(done - self.seen.queued[case_id])
        self.listed = ids

    async def poll(self, interval: float, end: list[float]) -> None:
        """Every `interval` s, or at once after a push, until `end[0]` (monotonic)."""
        await asyncio.sleep(random.random() * interval)
        while time.monotonic() < end[0]:
            start = time.perf_counter()
            self.wake.clear()
            await self.fetch()
            left = max(0.0, interval - (time.perf_counter() - start))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), left)

    async def listen(self, end: list[float]) -> None:
        """Hold the push channel; a `queue` frame wakes the poller."""
        async with connect(self.base.replace("http", "ws", 1) + "/ws",
                           open_timeout=60) as ws:
            await ws.send(json.dumps({"type": "auth", "token": self.token}))
            while time.monotonic() < end[0]:
                try:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 1.0))
                except TimeoutError:
                    continue
                topics = frame.get("topics", [])
                if "queue" in topics or "*" in topics:
                    now = time.perf_counter()
                    for case_id in list(self.waiting_push):
                        self.seen.pushed[case_id].append(now - self.seen.queued[case_id])
                    self.waiting_push.clear()
                    self.wake.set()


async def queue_cases(dsn: str, count: int, spacing: float, consoles: list[Console],
                      seen: Seen) -> None:
    """As the outreach service: queue `count` cases `spacing` s apart, each its own commit."""
    from detectors.records import Incident
    from monitor.platform.logging import configure
    from outreach.decide.clock import now_ms
    from outreach.store.cases import CaseStore
    from outreach.store.db import open_database
    from outreach.store.queue import QueueStore

    configure("WARNING")
    engine = await open_database(dsn)
    try:
        store = CaseStore(engine, now_ms)
        queue = QueueStore(engine, store, now_ms)
        for k in range(count):
            await asyncio.sleep(spacing)
            at = now_ms()
            case = await store.record_incident(Incident(
                incident_id=f"lag-pushed-{k}", kind="lag", state="open", started_at=at - 40_000,
                detected_at=at - 30_000, ended_at=None, line={"edge": "edge-1"}, evidence={},
                session_id=f"s{k}", student_id=f"stu-pushed-{k}", classroom_id="room-1"), {})
            seen.pushed[case.case_id], seen.shown[case.case_id] = [], []
            seen.queued[case.case_id] = time.perf_counter()
            for c in consoles:
                c.waiting_push.add(case.case_id)
            await queue.enqueue(case, "sms_unanswered")
    finally:
        await engine.dispose()


async def run_consoles(base: str, tokens: list[str], *, interval: float, end: list[float],
                       etag: bool, dsn: str | None = None, cases: int = 0,
                       seen: Seen | None = None,
                       polling: Callable[[], None] = lambda: None) -> Seen:
    """The consoles until `end[0]` (monotonic; may be moved meanwhile), with `cases` queued
    meanwhile (on PostgreSQL)."""
    seen = seen or Seen()
    limits = httpx.Limits(max_connections=len(tokens) + 5)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        consoles = [Console(http, base, t, seen, etag) for t in tokens]
        tasks = [asyncio.create_task(c.listen(end)) for c in consoles]
        await asyncio.sleep(3.0)  # the sockets open (and the pushes of their presence pass)
        polling()
        tasks += [asyncio.create_task(c.poll(interval, end)) for c in consoles]
        if dsn and cases:
            spacing = (end[0] - time.monotonic() - 3.0) / (cases + 1)
            queued = asyncio.create_task(queue_cases(dsn, cases, spacing, consoles, seen))
            await queued  # then 5 s more, so the last case has its chance too
            end[0] = max(end[0], time.monotonic() + 5.0)
        await asyncio.gather(*tasks)
    return seen


def pct(xs: list[float], q: float) -> float:
    """The q-quantile (nearest rank), NaN when empty."""
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(q * len(s) + 0.999999) - 1))] if s else float("nan")


def spread(xs: list[float], scale: float = 1000.0) -> dict[str, Any]:
    """p50 / p99 / max (in ms by default) and how many."""
    return {"n": len(xs), "p50": round(pct(xs, 0.5) * scale, 1),
            "p99": round(pct(xs, 0.99) * scale, 1),
            "max": round(max(xs) * scale, 1) if xs else None}


def push_figures(seen: Seen, consoles: int) -> dict[str, Any]:
    """Queued -> pushed and queued -> shown, over every (case, console), and per case the
    time until the last console showed it (missing: consoles that never did)."""
    pushes = [x for xs in seen.pushed.values() for x in xs]
    shown = [x for xs in seen.shown.values() for x in xs]
    every = [max(xs) for xs in seen.shown.values() if len(xs) == consoles]
    return {"cases": len(seen.queued), "push_ms": spread(pushes), "shown_ms": spread(shown),
            "every_console_ms": spread(every),
            "missing": sum(consoles - len(xs) for xs in seen.shown.values())}
