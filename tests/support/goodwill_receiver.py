"""A school's scheduling system on loopback: checks each goodwill webhook's signature and
counts what it accepted per idempotency key (it does not drop repeats: tests count them)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from detectors.records import Incident
from outreach.channels.goodwill_hook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from outreach.decide.goodwill import Member, Proposal
from outreach.store.cases import CaseStore
from outreach.store.goodwill import FAMILY_SMS, GoodwillStore
from outreach.store.models import goodwill_hooks
from outreach.store.outbox import Outbox, OutboxMessage

KEY = b"school-shared-secret"


@dataclass
class Receiver:
    """The receiver's state: accepted deliveries by key, bad signatures, answers to fail."""

    key: bytes
    fail_next: list[int] = field(default_factory=list)  # statuses to answer before accepting
    accepted: Counter[str] = field(default_factory=Counter)
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)
    bad_signatures: int = 0
    requests: int = 0
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        """Verify, maybe fail as scripted, else accept and count."""
        self.requests += 1
        body = await request.read()
        ok = verify(self.key, request.headers.get(TIMESTAMP_HEADER, ""), body,
                    request.headers.get(SIGNATURE_HEADER, ""), int(time.time()))
        if not ok:
            self.bad_signatures += 1
            return web.json_response({"error": "bad_signature"}, status=401)
        if self.fail_next:
            return web.json_response({"error": "busy"}, status=self.fail_next.pop(0))
        key = request.headers.get("Idempotency-Key", "")
        payload = orjson.loads(body)
        assert payload["idempotency_key"] == key
        self.accepted[key] += 1
        self.bodies[key] = payload
        return web.json_response({"ok": True})


async def start_receiver(key: bytes) -> tuple[Receiver, web.AppRunner]:
    """Serve a receiver on 127.0.0.1 (a free port); stop it with `runner.cleanup()`."""
    receiver = Receiver(key)
    app = web.Application(client_max_size=64 * 1024)
    app.router.add_post("/schedule", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    receiver.url = f"http://127.0.0.1:{port}/schedule"
    return receiver, runner


async def school_rows(engine: AsyncEngine) -> list[OutboxMessage]:
    """The goodwill outbox's rows still waiting for the school's webhook."""
    rows = await Outbox(engine, table=goodwill_hooks).pending_any()
    return [r for r in rows if r.payload.get("type") != FAMILY_SMS]


async def family_sms_rows(engine: AsyncEngine) -> list[OutboxMessage]:
    """The goodwill outbox's rows still waiting to be told to the family by SMS."""
    rows = await Outbox(engine, table=goodwill_hooks).pending_any()
    return [r for r in rows if r.payload.get("type") == FAMILY_SMS]


async def confirmed_families(engine: AsyncEngine, students: list[str]) -> list[str]:
    """Open a case per student, propose and confirm a make-up lesson on each."""
    cases, store, ids = CaseStore(engine), GoodwillStore(engine), []
    for n, student in enumerate(students):
        case = await cases.record_incident(Incident(
            incident_id=f"inc-{n}", kind="disconnect", state="closed", started_at=1_000,
            detected_at=2_000, ended_at=900_000, line={"edge": "e1"}, evidence={},
            session_id=f"sess-{n}", student_id=student, classroom_id="room-1"), {})
        await store.propose(Proposal(case.case_id, "makeup", False, 15.0, (
            Member(case.case_id, student, "room-1", 15.0),), "15 minutes lost"))
        await store.decide(case.case_id, "confirm", "long outage", "alice")
        ids.append(case.case_id)
    return ids
