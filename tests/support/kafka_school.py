"""A small deterministic school for the Kafka tests (independent of the simulator).

Eight classrooms of six students over two edges and two ISPs, ten minutes of
class. Faults: an outage of edge `e1` (every session on it silent for 30 s),
three students with a stretch of lag, one with a disconnect event, one that
flaps. Every session leaves at the end. The tail adds two late `join`s per
partition so every partition's event clock passes the end (what replay sees too).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import orjson

from tests.support.kafka_helpers import T0, join, stats

MINUTE = 60_000


def _ev(kind: str, sid: str, ts: int, room: str, **extra: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "type": kind,
        "ts": ts,
        "session_id": sid,
        "student_id": "st-" + sid,
        "classroom_id": room,
        **extra,
    }


def school_events(seed: int = 7, minutes: int = 10) -> list[dict[str, Any]]:
    """Every event of the school, in delivery (time) order."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    end = T0 + minutes * MINUTE
    outage = (T0 + 4 * MINUTE, T0 + 4 * MINUTE + 30_000)
    for r in range(8):
        room = f"room-{r}"
        for k in range(6):
            sid = f"s{r}{k}"
            edge = "e1" if (r + k) % 2 == 0 else "e2"
            isp = "isp-a" if r % 2 == 0 else "isp-b"
            start = T0 + rng.randrange(0, 3000)
            j = join(sid, start, classroom=room, edge=edge)
            j["network"]["isp"] = isp
            events.append(j)
            lag_from = T0 + (2 + r % 3) * MINUTE if (r, k) in ((1, 1), (3, 2), (6, 5)) else None
            t = start + 2000
            while t < end:
                silent = edge == "e1" and outage[0] <= t < outage[1]
                if (r, k) == (2, 3) and T0 + 6 * MINUTE <= t < T0 + 6 * MINUTE + 20_000:
                    if t == T0 + 6 * MINUTE + (start - T0) % 2000:
                        events.append(_ev("disconnect", sid, t, room, reason="network"))
                    silent = True
                if (r, k) == (5, 0) and any(
                    T0 + m * MINUTE <= t < T0 + m * MINUTE + 4000 for m in (7, 8, 9)
                ):
                    if (t - T0) % MINUTE < 2000:
                        events.append(_ev("reconnect", sid, t, room, attempt=1, ok=False))
                    elif (t - T0) % MINUTE < 4000:
                        events.append(_ev("reconnect", sid, t, room, attempt=2, ok=True))
                    t += 2000
                    continue
                if not silent:
                    bad = lag_from is not None and lag_from <= t < lag_from + 20_000
                    events.append(stats(sid, t, classroom=room, bad=bad))
                t += 2000
            events.append(_ev("leave", sid, end + rng.randrange(0, 1000), room))
    events.sort(key=lambda e: (e["ts"], e["session_id"]))
    return events


def tail_events(partitions: int, after_ms: int) -> list[tuple[int, dict[str, Any]]]:
    """Two late joins per partition (explicit partition), moving every clock past the end.

    Two sessions: one session's timestamps alone never move a clock (detectors.clock_guard).
    """
    out = []
    for p in range(partitions):
        for k in range(2):
            j = join(f"tail-{p}-{k}", after_ms + p, classroom="tail", edge="tail-edge")
            out.append((p, j))
    return out


def school_lines(partitions: int = 4) -> tuple[list[bytes], list[tuple[int, bytes]]]:
    """The school as JSON lines, and the tail (partition, line) pairs."""
    events = school_events()
    last = max(e["ts"] for e in events)
    tail = [(p, orjson.dumps(e)) for p, e in tail_events(partitions, last + 20 * MINUTE)]
    return [orjson.dumps(e) for e in events], tail


def session_of(line: bytes) -> bytes:
    """The Kafka key of a telemetry line."""
    return str(orjson.loads(line)["session_id"]).encode()


def iter_school(partitions: int = 4) -> Iterator[bytes]:
    """School lines followed by the tail lines (for replay)."""
    lines, tail = school_lines(partitions)
    yield from lines
    for _, line in tail:
        yield line
