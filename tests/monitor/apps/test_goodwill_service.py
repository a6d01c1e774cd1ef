"""`firstcall outreach` on a real broker: a long outage proposes make-up lessons, an agent
confirms them in the desk API, the families hear by SMS (Twilio stand-in) and the school's
scheduling webhook receives each once, even after the service restarts."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import httpx
import pytest

from detectors.records import Incident, Outreach, case_id_for, encode
from monitor.apps.outreach import options_from
from monitor.cli import build_parser
from monitor.desk.app import create_app
from monitor.desk.desk import Desk
from monitor.desk.ring import TelemetryRing
from monitor.simulate.twilio_standin import TwilioStandIn
from monitor.streaming.outreach_service import running
from outreach.store.cases import CaseStore
from outreach.store.db import open_database
from outreach.store.directory import DirectoryStore
from outreach.store.directory_import import import_file
from outreach.store.goodwill import GoodwillStore
from outreach.store.queue import QueueStore
from outreach.store.users import UserStore
from tests.support.goodwill_receiver import KEY, start_receiver
from tests.support.kafka_helpers import collect, create_topics, isolated_settings, produce
from tests.support.kafka_procs import topic_prefix

MIN = 60_000


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["outreach", *argv])


def outage(n: int, minutes: int) -> list[tuple[bytes, bytes]]:
    """Student n's session drops for `minutes`: the incident, its decision, its end."""
    iid, sid, student = f"disconnect-{n}", f"sess-{n}", f"stu-{n}"
    inc = Incident(iid, "disconnect", "open", 1_000, 11_000, None, {"edge": "e1"}, {},
                   sid, student, "room-1")
    closed = Incident(iid, "disconnect", "closed", 1_000, 11_000, 1_000 + minutes * MIN,
                      {"edge": "e1"}, {}, sid, student, "room-1")
    o = Outreach(iid, case_id_for(iid), sid, student, "none", "hold_off", 21_000)
    return [(sid.encode(), encode(inc)), (sid.encode(), encode(o)),
            (sid.encode(), encode(closed))]


@pytest.mark.kafka
@pytest.mark.timeout(120)
async def test_a_long_outage_is_made_good_once_across_a_restart(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = isolated_settings(kafka_bootstrap)
    await create_topics(s)
    families = tmp_path / "f.csv"
    families.write_text(
        "student_id,student_name,guardian_name,phone,relation,preferred_channel,language\n"
        "stu-1,Kari,Mum,+4791234561,mother,sms,en\n"
        "stu-2,Ola,Dad,+4791234562,father,call,en\n"
        "stu-3,Per,Gran,+4791234563,grandmother,call,en\n", encoding="utf-8")
    db = str(tmp_path / "cases.db")
    engine = await open_database(db)
    assert (await import_file(families, DirectoryStore(engine))).imported
    receiver, site = await start_receiver(KEY)
    with TwilioStandIn(auto_status="delivered", auto_delay_s=0.05) as standin:
        monkeypatch.setenv("FIRSTCALL_TWILIO_ACCOUNT_SID", standin.account_sid)
        monkeypatch.setenv("FIRSTCALL_TWILIO_AUTH_TOKEN", standin.auth_token)
        monkeypatch.setenv("FIRSTCALL_TWILIO_FROM_NUMBER", "+14155550100")
        monkeypatch.setenv("FIRSTCALL_TWILIO_API_BASE_URL", standin.base_url)
        monkeypatch.setenv("FIRSTCALL_GOODWILL_WEBHOOK_URL", receiver.url)
        monkeypatch.setenv("FIRSTCALL_GOODWILL_WEBHOOK_KEY", KEY.decode())
        settings, opts = options_from(parse(
            "--db", db, "--bootstrap", kafka_bootstrap, "--topic-prefix", topic_prefix(s),
            "--callback-host", "127.0.0.1", "--callback-port", "0", "--probe-port", "-1"))
        end = 1_000 + 15 * MIN
        later = Incident("lag-3", "lag", "open", end + opts.policy.case_reopen_ms,
                         end + opts.policy.case_reopen_ms, None, {"edge": "e2"}, {},
                         "sess-3", "stu-3", "room-2")
        async with running(settings, opts) as service:
            assert service.goodwill is not None
            stop = asyncio.Event()
            feed = asyncio.create_task(service.feed.run(stop))
            await produce(kafka_bootstrap, s.topics.incidents, [*outage(1, 15), *outage(2, 12)])
            await produce(kafka_bootstrap, s.topics.incidents, [(b"sess-3", encode(later))])
            await collect(kafka_bootstrap, s.topics.outcomes, until=2)  # both cases closed
            store = GoodwillStore(engine)
            async with asyncio.timeout(30):
                while len(await store.offers("proposed")) < 2:
                    await asyncio.sleep(0.05)
            users = UserStore(engine)
            token = await users.add("ann", "agent")
            cases = CaseStore(engine)
            desk = Desk(cases, QueueStore(engine, cases), TelemetryRing(), cases.clock)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(create_app(desk, users)),
                                         base_url="http://desk") as http:
                for offer in await store.offers("proposed"):
                    r = await http.post(f"/api/goodwill/{offer.case_id}/confirm",
                                        headers={"Authorization": f"Bearer {token}"},
                                        json={"reason": "lost the lesson to an outage"})
                    assert r.status_code == 200, r.text
            assert await service.goodwill.deliver_pending() == 2
            stop.set()
            await feed
        async with running(settings, opts) as again:  # the service restarts
            assert again.goodwill is not None
            assert await again.goodwill.deliver_pending() == 0
    await site.cleanup()
    await engine.dispose()
    ids = {case_id_for("disconnect-1"), case_id_for("disconnect-2")}
    assert receiver.accepted == dict.fromkeys(ids, 1)
    sms = [r for r in standin.requests if r.method == "POST" and "Messages" in r.path]
    assert sorted(r.param("To") or "" for r in sms) == ["+4791234561", "+4791234562"]
    assert all("make-up lesson" in (r.param("Body") or "") for r in sms)
