"""`python -m bench.line_records`: what one big edge outage's line incident puts on the wire.

Feeds the line correlator the findings of an outage (`--sessions` sessions in 50
classrooms dropping one every 20 ms, healing 100 s later) and prints how many line
records it made, their bytes, the largest, and the memory a worker's verdict board
(which keeps every line record it read, decoded) holds for them. Issue 20's figures.
"""

from __future__ import annotations

import argparse
import tracemalloc

from detectors.config import DetectionConfig
from detectors.findings import Finding
from detectors.line import LineCorrelator
from detectors.records import Incident, decode_record, encode

T0 = 1_767_258_000_000


def _finding(kind: str, sid: str, ts: int, room: str) -> Finding:
    return Finding(kind, sid, room, "e1", "isp1", "r1", ts, ts, "disconnect",  # type: ignore[arg-type]
                   f"d-{sid}")


def outage_records(sessions: int) -> list[bytes]:
    """The edge's line incident records (encoded) of an outage of `sessions` sessions."""
    raw: list[bytes] = []

    def keep(inc: Incident) -> None:
        if inc.line == {"edge": "e1"}:
            raw.append(encode(inc))

    c = LineCorrelator(DetectionConfig(), keep)
    sids = [f"ses-{i // 100:03d}-{i % 100:04d}-1" for i in range(sessions)]
    for step, kind, start in (("join", "join", T0), ("drop", "episode_start", T0 + 10_000),
                              ("heal", "episode_end", T0 + 200_000)):
        every = 0 if step == "join" else 20
        for k, sid in enumerate(sids):
            c.feed(_finding(kind, sid, start + k * every, f"c{k % 50}"))
    c.advance(T0 + 900_000)
    return raw


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.line_records", description=__doc__)
    parser.add_argument("--sessions", type=int, default=5_000)
    args = parser.parse_args()
    raw = outage_records(args.sessions)
    tracemalloc.start()
    kept = [decode_record(r) for r in raw]
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{args.sessions:,} sessions: {len(kept)} line records, {sum(map(len, raw)):,} bytes, "
          f"largest {max(map(len, raw)):,} bytes; decoded and kept: {held / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
