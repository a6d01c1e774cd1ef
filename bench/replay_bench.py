"""Replay throughput and memory figures, each phase in a fresh process.

Side by side in one run (machines are noisy): a bare decode of the same bytes,
a bare decode plus a per-session window (the floor any detector pays), and the
full FirstCall pipeline (decode + detect + line correlation + outreach policy).
"""

from __future__ import annotations

import gc
import os
import resource
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import orjson

from detectors.config import DetectionConfig
from detectors.telemetry import TelemetryDecoder
from monitor.streaming.assembly import Pipeline


def read_batches(path: str, batch: int = 4096) -> list[list[bytes]]:
    """Load a JSON Lines file into batches of lines (outside the timed part)."""
    with open(path, "rb") as fh:
        lines = [ln.rstrip(b"\n") for ln in fh if ln.strip()]
    return [lines[i:i + batch] for i in range(0, len(lines), batch)]


def _timed(fn: Callable[[list[list[bytes]]], object], batches: list[list[bytes]],
           repeat: int) -> tuple[float, object]:
    best = float("inf")
    result: object = None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        result = fn(batches)
        best = min(best, time.perf_counter() - t0)
    return best, result


def bare_decode(batches: list[list[bytes]]) -> int:
    """orjson decode only."""
    n = 0
    loads = orjson.loads
    for b in batches:
        for raw in b:
            loads(raw)
            n += 1
    return n


def decode_and_window(batches: list[list[bytes]]) -> int:
    """orjson decode plus a 5-entry window per session (the floor of any detector)."""
    windows: dict[str, list[float]] = {}
    loads = orjson.loads
    for b in batches:
        for raw in b:
            ev = loads(raw)
            w = windows.get(ev["session_id"])
            if w is None:
                w = windows[ev["session_id"]] = []
            rtt = ev.get("rtt_ms")
            if rtt is not None:
                w.append(rtt)
                if len(w) > 5:
                    del w[0]
    return len(windows)


def strict_decode(batches: list[list[bytes]]) -> int:
    """FirstCall's strict typed decode alone (msgspec Structs with validation)."""
    dec = TelemetryDecoder()
    n = 0
    for b in batches:
        n += len(dec.decode_batch(b))
    return n


def full_pipeline(batches: list[list[bytes]]) -> dict[str, Any]:
    """Decode + detect + correlate + policy, records encoded as replay would."""
    out: list[bytes] = []
    enc = msgspec.json.Encoder()

    def sink(r: Any) -> None:
        out.append(enc.encode(r.to_dict()))

    p = Pipeline(sink)
    for b in batches:
        p.feed_raw(b)
    p.finish()
    return {"records": len(out), "incidents": dict(p.stats.incidents_by_kind),
            "sessions": len(p.engine.sessions)}


def throughput_phase(path: str, repeat: int = 3) -> dict[str, Any]:
    """Events/s of each contender on the same file (best of `repeat`)."""
    batches = read_batches(path)
    events = sum(len(b) for b in batches)
    size = os.path.getsize(path)
    rows: dict[str, Any] = {"events": events, "bytes": size}
    for name, fn in (("orjson decode only", bare_decode),
                     ("orjson decode + per-session window", decode_and_window),
                     ("FirstCall strict decode only", strict_decode),
                     ("FirstCall replay (decode+detect+line+policy)", full_pipeline)):
        secs, result = _timed(fn, batches, repeat)
        rows[name] = {"seconds": round(secs, 3), "events_per_s": round(events / secs)}
        if isinstance(result, dict):
            rows["pipeline_result"] = result
    rows["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return rows


def _session_events(n: int, t0: int, batch: int = 4096) -> Iterator[list[bytes]]:
    """`n` concurrent sessions: a join and a full lag window of stats each (lazily)."""
    enc = orjson.dumps
    cur: list[bytes] = []
    edges, isps = 40, 12
    for i in range(n):
        sid = f"bench-{i:08d}-7f3a9c"
        cur.append(enc({"v": 1, "type": "join", "ts": t0, "session_id": sid,
                        "student_id": f"student-{i:08d}", "classroom_id": f"class-{i // 6:07d}",
                        "client": {"app_version": "5.2.1", "os": "ios", "device": "ipad"},
                        "network": {"conn": "wifi", "isp": f"isp-{i % isps}",
                                    "region": f"region-{i % 5}", "edge": f"edge-{i % edges}"}}))
        if len(cur) >= batch:
            yield cur
            cur = []
    for k in range(1, 9):
        for i in range(n):
            sid = f"bench-{i:08d}-7f3a9c"
            cur.append(enc({"v": 1, "type": "stats", "ts": t0 + k * 2000 + i % 1500,
                            "session_id": sid, "student_id": f"student-{i:08d}",
                            "classroom_id": f"class-{i // 6:07d}", "interval_ms": 2000,
                            "rtt_ms": 40.0 + i % 30, "jitter_ms": 2.0, "loss_pct": 0.1,
                            "recv_kbps": 850.0, "fps": 24.0, "freeze_ms": 0,
                            "audio_stall_ms": 0}))
            if len(cur) >= batch:
                yield cur
                cur = []
    if cur:
        yield cur


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_phase(sessions: int, traced_up_to: int = 200_000) -> dict[str, Any]:
    """Bytes per tracked session with `sessions` live at once (engine + line + policy).

    RSS growth is measured always; Python's own allocation tracing (exact, but slow
    and memory-hungry itself) only up to `traced_up_to` sessions.
    """
    trace = sessions <= traced_up_to
    gc.collect()
    rss0 = _rss_bytes()
    if trace:
        tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0] if trace else 0
    p = Pipeline(lambda r: None, DetectionConfig())
    events, seconds = _feed_timed(p, sessions)
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0] - base if trace else 0
    if trace:
        tracemalloc.stop()
    rss = _rss_bytes() - rss0
    tracked = len(p.engine.sessions)
    if trace:  # tracing slows Python down: time an untraced pass of the same events
        del p
        gc.collect()
        events, seconds = _feed_timed(Pipeline(lambda r: None, DetectionConfig()), sessions)
    return {
        "sessions": tracked,
        "traced_bytes_per_session": round(traced / tracked) if trace else None,
        "rss_bytes_per_session": round(rss / tracked),
        "events": events,
        "us_per_event": round(seconds / events * 1e6, 3),
    }


def _feed_timed(p: Pipeline, sessions: int) -> tuple[int, float]:
    """Feed the sessions' events (encoding them is not timed); returns (events, seconds)."""
    events = 0
    seconds = 0.0
    for b in _session_events(sessions, 1_767_258_000_000):
        t0 = time.perf_counter()
        p.feed_raw(b)
        seconds += time.perf_counter() - t0
        events += len(b)
    return events, seconds
