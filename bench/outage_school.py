"""The outage scenario of #20: a school, one media edge silent for a while, and ordinary
family problems on the other edges during it (deterministic telemetry, for the bench and CI).

Sessions are spread over `edges` media servers (`edge-0` goes down) and a few ISPs;
classrooms hold six students. During the outage, `ordinary` sessions on the other edges
get a problem of their own: even ones a stretch of lag, odd ones a silent drop of
`drop_s` seconds. They are spread over the edges and over time so that no other line
reaches the line-incident threshold. Everyone leaves at the end; two late joins per
partition move every partition's event clock past the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka.partitioner import DefaultPartitioner

T0 = 1_796_000_000_000
STEP_MS = 2000
OUTAGE_EDGE = "edge-0"


@dataclass(frozen=True, slots=True)
class OutageScenario:
    """Size and timing of the scenario (times in seconds of event time from its start)."""

    sessions: int = 300
    edges: int = 5
    isps: int = 3
    outage_at_s: int = 120
    outage_s: int = 90
    ordinary: int = 12
    lag_s: int = 30
    drop_s: int = 40
    end_s: int = 420
    partitions: int = 4
    edge_down: bool = True  # False: the same school with no outage (the baseline)

    def edge_of(self, k: int) -> str:
        """The media edge session k is on."""
        return f"edge-{k % self.edges}"

    def session_id(self, k: int) -> str:
        """The id of session k."""
        return f"os-{k:06d}"

    def on_outage_edge(self) -> list[str]:
        """Sessions whose edge goes down."""
        return [self.session_id(k) for k in range(self.sessions) if k % self.edges == 0]

    def ordinary_problems(self) -> dict[str, tuple[str, int]]:
        """Session -> (kind, start ms) of the ordinary problems during the outage."""
        # Round the other edges in turn, each edge's share spread over its sessions (a plain
        # stride over the others once put every problem on edge-1: a fifth of its sessions).
        edges = max(1, self.edges - 1)
        pools = [[k for k in range(self.sessions) if k % self.edges == e]
                 for e in range(1, self.edges)]
        per_edge = max(1, -(-self.ordinary // edges))
        picked = [pool[(i // edges) * len(pool) // per_edge]
                  for i in range(self.ordinary) if (pool := pools[i % edges])]
        span = max(1, self.outage_s * 1000 - self.drop_s * 1000)
        out: dict[str, tuple[str, int]] = {}
        for i, k in enumerate(picked):
            start = T0 + self.outage_at_s * 1000 + span * i // max(1, len(picked))
            start -= (start - T0) % STEP_MS
            out[self.session_id(k)] = ("lag" if i % 2 == 0 else "disconnect", start)
        return out


def phone_of(i: int) -> str:
    """The guardian's phone of the i-th family."""
    return f"+86139{i:08d}"


def _base(kind: str, sid: str, ts: int, room: str) -> dict[str, Any]:
    return {"v": 1, "type": kind, "ts": ts, "session_id": sid, "student_id": "st-" + sid,
            "classroom_id": room}  # fmt: skip


def _stats(sid: str, ts: int, room: str, bad: bool) -> dict[str, Any]:
    e = _base("stats", sid, ts, room)
    e.update(interval_ms=STEP_MS, rtt_ms=900.0 if bad else 40.0, jitter_ms=3.0,
             loss_pct=20.0 if bad else 0.0, recv_kbps=800.0, fps=3.0 if bad else 25.0,
             freeze_ms=1200 if bad else 0, audio_stall_ms=0)  # fmt: skip
    return e


def events(sc: OutageScenario) -> Iterator[dict[str, Any]]:
    """Every event of the scenario in time order (joins, stats every 2 s, leaves)."""
    problems = sc.ordinary_problems()
    out_from, out_to = T0 + sc.outage_at_s * 1000, T0 + (sc.outage_at_s + sc.outage_s) * 1000
    rooms = [f"oroom-{k // 6:05d}" for k in range(sc.sessions)]
    ids = [sc.session_id(k) for k in range(sc.sessions)]
    for k, sid in enumerate(ids):
        j = _base("join", sid, T0 + k % STEP_MS, rooms[k])
        j["client"] = {"app_version": "5.2.1", "os": "win", "device": "pc"}
        j["network"] = {"conn": "wifi", "isp": f"isp-{k % sc.isps}", "region": "north",
                        "edge": sc.edge_of(k)}  # fmt: skip
        yield j
    for t in range(T0 + STEP_MS, T0 + sc.end_s * 1000, STEP_MS):
        for k, sid in enumerate(ids):
            ts = t + k % STEP_MS
            if sc.edge_down and k % sc.edges == 0 and out_from <= ts < out_to:
                continue  # the edge is down: nothing arrives from its sessions
            bad = False
            if sid in problems:
                kind, start = problems[sid]
                if kind == "disconnect" and start <= ts < start + sc.drop_s * 1000:
                    continue
                bad = kind == "lag" and start <= ts < start + sc.lag_s * 1000
            yield _stats(sid, ts, rooms[k], bad)
    end = T0 + sc.end_s * 1000
    for k, sid in enumerate(ids):
        yield _base("leave", sid, end + k % STEP_MS, rooms[k])


def tail(sc: OutageScenario) -> list[tuple[int, bytes]]:
    """(partition, line): two late joins per partition, moving every clock past the end."""
    out = []
    after = T0 + (sc.end_s + 1200) * 1000
    for p in range(sc.partitions):
        for k in range(2):
            j = _base("join", f"tail-{p}-{k}", after + p, "tail")
            j["client"] = {"app_version": "5.2.1", "os": "win", "device": "pc"}
            j["network"] = {"conn": "wifi", "isp": "isp-tail", "region": "north",
                            "edge": "tail-edge"}  # fmt: skip
            out.append((p, orjson.dumps(j)))
    return out


def keyed(sc: OutageScenario) -> Iterator[tuple[int, bytes, bytes]]:
    """(partition, key, value) of every event, partitioned as a keyed producer would."""
    part = DefaultPartitioner()
    everyone = list(range(sc.partitions))
    cache: dict[str, tuple[int, bytes]] = {}
    for e in events(sc):
        sid = e["session_id"]
        if sid not in cache:
            key = sid.encode()
            cache[sid] = (part(key, everyone, everyone), key)
        p, key = cache[sid]
        yield p, key, orjson.dumps(e)
