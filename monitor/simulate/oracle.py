"""Reference implementation of the contract's problem definitions (the oracle).

Written for clarity, not speed: whole streams, sorted lists, brute force. It
reads clean events (true time, as dicts in the telemetry contract's shape) and
returns every lag, disconnect, flapping and line episode, following
telemetry.md "What counts as a problem" and "Precise timing". The streaming
detectors are scored against it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Ev = Mapping[str, Any]
Episode = dict[str, Any]
MEDIA = ("stats", "heartbeat")


@dataclass(frozen=True, slots=True)
class Definitions:
    """The contract's default numbers (every one is configuration)."""

    freeze_ms_per_2s: int = 600
    audio_stall_ms_per_2s: int = 400
    min_fps: float = 7.0
    max_loss_pct: float = 10.0
    max_rtt_ms: float = 500.0
    lag_window: int = 5
    lag_degraded: int = 3
    lag_clean_to_close: int = 5
    silence_ms: int = 10_000
    reconnect_ms: int = 10_000
    flap_drops: int = 3
    flap_window_ms: int = 300_000
    line_sessions: int = 5
    line_share: float = 0.3
    line_classrooms: int = 2
    line_window_ms: int = 60_000
    line_join_ms: int = 60_000


DEFAULTS = Definitions()


def is_degraded(stats: Ev, d: Definitions = DEFAULTS) -> bool:
    """One stats interval is degraded (freeze and stall thresholds scale with interval)."""
    scale = stats["interval_ms"] / 2000
    return bool(
        stats["freeze_ms"] >= d.freeze_ms_per_2s * scale
        or stats["audio_stall_ms"] >= d.audio_stall_ms_per_2s * scale
        or (stats["fps"] < d.min_fps and stats["recv_kbps"] > 0)
        or stats["loss_pct"] > d.max_loss_pct
        or stats["rtt_ms"] > d.max_rtt_ms
    )


def by_session(events: Iterable[Ev]) -> dict[str, list[Ev]]:
    """Each session's events in time order (stable for equal times)."""
    out: dict[str, list[Ev]] = defaultdict(list)
    for e in events:
        out[e["session_id"]].append(e)
    return {sid: sorted(evs, key=lambda e: e["ts"]) for sid, evs in out.items()}


# --- lag ---


def lag_episodes(evs: Sequence[Ev], d: Definitions = DEFAULTS) -> list[Episode]:
    """3 of the last 5 stats degraded opens; 5 clean in a row closes; leave resets."""
    out: list[Episode] = []
    window: list[Ev] = []
    current: Episode | None = None
    clean_run = 0
    for e in evs:
        if e["type"] == "leave":
            if current is not None:
                out.append({**current, "ended_at": current["last_bad_end"]})
                current = None
            window = []
            continue
        if e["type"] != "stats":
            continue
        window = [*window, e][-d.lag_window :]
        if current is None:
            degraded = [w for w in window if is_degraded(w, d)]
            if len(degraded) >= d.lag_degraded:
                first = degraded[0]
                current = {
                    "started_at": first["ts"] - first["interval_ms"],
                    "last_bad_end": degraded[-1]["ts"],
                }
                clean_run = 0
        elif is_degraded(e, d):
            current["last_bad_end"] = e["ts"]
            clean_run = 0
        else:
            clean_run += 1
            if clean_run >= d.lag_clean_to_close:
                out.append({**current, "ended_at": current["last_bad_end"]})
                current = None
    if current is not None:
        out.append({**current, "ended_at": None})  # still lagging when the stream ends
    return [{"started_at": ep["started_at"], "ended_at": ep["ended_at"]} for ep in out]


# --- disconnect ---


def reconnect_sequences(evs: Sequence[Ev], end_ms: int, d: Definitions = DEFAULTS) -> list[Episode]:
    """Runs of reconnect attempts: from the first attempt to `ok: true` (or media, or leave).

    `failing` when nothing closes the run within `reconnect_ms` (inclusive).
    """
    out: list[Episode] = []
    i = 0
    while i < len(evs):
        if evs[i]["type"] != "reconnect":
            i += 1
            continue
        r0 = evs[i]["ts"]
        closer: Ev | None = None
        j = i
        while j < len(evs):
            e = evs[j]
            if (e["type"] == "reconnect" and e["ok"]) or e["type"] in (*MEDIA, "leave"):
                closer = e
                break
            j += 1
        if closer is None:
            failing = end_ms - r0 > d.reconnect_ms
            ended = None
        else:
            failing = closer["ts"] - r0 > d.reconnect_ms
            ended = closer["ts"]
        out.append({"started_at": r0, "ended_at": ended, "failing": failing, "index": i})
        i = j + 1
    return out


def disconnect_episodes(evs: Sequence[Ev], end_ms: int, d: Definitions = DEFAULTS) -> list[Episode]:
    """Disconnect event, 10 s of silence or a failing reconnect run; ends at media or leave."""
    starts: set[int] = set()
    for i, e in enumerate(evs):
        if e["type"] == "disconnect":
            starts.add(i)
        if e["type"] != "leave":
            next_ts = evs[i + 1]["ts"] if i + 1 < len(evs) else end_ms
            if next_ts - e["ts"] >= d.silence_ms:
                starts.add(i)
    for seq in reconnect_sequences(evs, end_ms, d):
        if seq["failing"]:
            starts.add(seq["index"])
    out: list[Episode] = []
    current: Episode | None = None
    for i, e in enumerate(evs):
        if current is not None and e["type"] in (*MEDIA, "leave"):
            current["ended_at"] = e["ts"]
            out.append(current)
            current = None
        if i in starts and current is None:
            current = {"started_at": e["ts"], "ended_at": None}
    if current is not None:
        out.append(current)
    return out


# --- flapping ---


def drops(evs: Sequence[Ev], end_ms: int, d: Definitions = DEFAULTS) -> list[Episode]:
    """Disconnect episodes and reconnect sequences, overlapping ones merged into one drop."""
    spans = [(ep["started_at"], ep["ended_at"]) for ep in disconnect_episodes(evs, end_ms, d)]
    spans += [(s["started_at"], s["ended_at"]) for s in reconnect_sequences(evs, end_ms, d)]
    merged: list[Episode] = []
    for start, end in sorted(spans, key=lambda span: span[0]):
        last = merged[-1] if merged else None
        if last is not None and (last["ended_at"] is None or start <= last["ended_at"]):
            if last["ended_at"] is not None:
                last["ended_at"] = None if end is None else max(last["ended_at"], end)
        else:
            merged.append({"started_at": start, "ended_at": end})
    return merged


def flapping_episodes(evs: Sequence[Ev], end_ms: int, d: Definitions = DEFAULTS) -> list[Episode]:
    """3 drops starting within 5 min; overlapping triples make one episode."""
    dl = drops(evs, end_ms, d)
    n = d.flap_drops
    out: list[Episode] = []
    last_member = -1
    for j in range(n - 1, len(dl)):
        first = j - n + 1
        if dl[j]["started_at"] - dl[first]["started_at"] > d.flap_window_ms:
            continue
        if out and first <= last_member:
            out[-1]["ended_at"] = dl[j]["ended_at"]
        else:
            out.append({"started_at": dl[first]["started_at"], "ended_at": dl[j]["ended_at"]})
        last_member = j
    return out
