"""`python -m bench.outreach_batch_bench`: the outreach runner's records in polls, batched or not.

Feeds `--families` families (each: an incident opening its case, the policy's decision,
the incident's end; the case closes with its outcome once the family has been fine for
`case_reopen_ms`, as event time moves on) through `KafkaOutreach.apply_all` in polls of
`--poll` records (what one `getmany` hands over; no broker here: the database path is
what is measured), one poll in one transaction (`batched`) or each store call in its own
(`unbatched`, as before issue 20's point 3). The two alternate in one run (`--rounds`
each, same process), each round on a fresh database (a new PostgreSQL schema, or SQLite
file), and the figures are cases closed per second, with the machine's load average.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import structlog

from detectors.records import Incident, Outreach, case_id_for
from monitor.platform.kafka_settings import KafkaSettings
from monitor.streaming.bus_feed import ListOutcomeSink
from monitor.streaming.outreach_kafka import KafkaOutreach
from outreach.contact.runtime import CaseRuntime
from outreach.store.cases import CaseStore
from outreach.store.db import make_engine, upgrade
from outreach.store.directory import DirectoryStore

PG = "postgresql://postgres@127.0.0.1:5432/test"
T0 = 1_767_258_000_000


def records(families: int, tag: str) -> list[Incident | Outreach]:
    """Each family's incident, decision and end (100 ms apart), then time moving on."""
    out: list[Incident | Outreach] = []
    for n in range(families):
        student, start = f"stu-{tag}-{n}", T0 + n * 100
        iid = f"disconnect-{student}"
        fields: dict[str, Any] = {"edge": "e1", "isp": "isp-a", "region": "north"}
        opened = Incident(iid, "disconnect", "open", start, start + 5_000, None, fields, {},
                          f"sess-{student}", student, f"room-{n % 50}")  # fmt: skip
        out.append(opened)
        out.append(Outreach(iid, case_id_for(iid), f"sess-{student}", student, "none",
                            "self_recovering", start + 15_000))  # fmt: skip
        out.append(Incident(iid, "disconnect", "closed", start, start + 65_000, start + 60_000,
                            fields, {}, f"sess-{student}", student, f"room-{n % 50}"))  # fmt: skip
    late = T0 + families * 100 + 3_600_000
    out.append(Incident(f"disconnect-late-{tag}", "disconnect", "open", late, late + 5_000, None,
                        {}, {}, f"sess-late-{tag}", f"late-{tag}", "room-0"))  # fmt: skip
    return out


async def one_round(db: str, families: int, poll: int, batched: bool) -> dict[str, Any]:
    """One fresh database, every record through the runner; the time it took."""
    schema = f"fc_bench_{uuid.uuid4().hex[:10]}"
    tmp = tempfile.TemporaryDirectory(prefix="fc-batch-bench-")
    if db == "postgres":
        admin = await asyncpg.connect(PG)
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        engine = make_engine(PG, schema=schema)
    else:
        engine = make_engine(str(Path(tmp.name) / "cases.db"))
    try:
        await upgrade(engine)
        sink = ListOutcomeSink()
        runner = CaseRuntime(CaseStore(engine), DirectoryStore(engine), {}, sink)
        feed = KafkaOutreach(KafkaSettings(clock="event"), runner, batched=batched)
        todo = records(families, uuid.uuid4().hex[:6])
        began = time.perf_counter()
        for i in range(0, len(todo), poll):
            await feed.apply_all(todo[i : i + poll])
        took = time.perf_counter() - began
        await runner.aclose()
        assert len(sink.records) == families, (len(sink.records), families)
        return {"mode": "batched" if batched else "unbatched", "seconds": round(took, 2),
                "cases_per_s": round(families / took, 1), "records": len(todo)}  # fmt: skip
    finally:
        await engine.dispose()
        if db == "postgres":
            await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
            await admin.close()
        tmp.cleanup()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Alternate batched and unbatched rounds; per mode, each round's and the best rate."""
    rounds: list[dict[str, Any]] = []
    for _ in range(args.rounds):
        for batched in (True, False):
            rounds.append(await one_round(args.db, args.families, args.poll, batched))
            print(json.dumps(rounds[-1]), file=sys.stderr)
    best = {
        mode: max(r["cases_per_s"] for r in rounds if r["mode"] == mode)
        for mode in ("batched", "unbatched")
    }
    return {"db": args.db, "families": args.families, "poll": args.poll, "rounds": rounds,
            "best_cases_per_s": best,
            "load_average": Path("/proc/loadavg").read_text().split()[:3]}  # fmt: skip


def main() -> int:
    """Parse the options, run the rounds, print the figures (JSON)."""
    p = argparse.ArgumentParser(prog="python -m bench.outreach_batch_bench", description=__doc__)
    p.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    p.add_argument("--families", type=int, default=2_000)
    p.add_argument("--poll", type=int, default=500, help="records per poll")
    p.add_argument("--rounds", type=int, default=2, help="rounds of each mode, alternating")
    # The runner's per-case info lines are not what is measured.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    print(json.dumps(asyncio.run(run(p.parse_args())), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
