"""Ground truth: the oracle applied to a clean stream, and each episode's cause."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from monitor.simulate.actions import FaultInstance
from monitor.simulate.oracle import (
    DEFAULTS,
    Definitions,
    Ev,
    by_session,
    disconnect_episodes,
    flapping_episodes,
    lag_episodes,
)
from monitor.simulate.oracle_line import LineKey, SessionEpisode, line_episodes, session_lines

Row = dict[str, Any]
KIND_ORDER = {"lag": 0, "disconnect": 1, "flapping": 2, "line": 3}


def find_episodes(
    events: Iterable[Ev], end_ms: int | None = None, d: Definitions = DEFAULTS
) -> list[Row]:
    """Every true episode in a clean stream (events carry true `ts`).

    `end_ms` is when the stream ends (default: its last event), which decides
    whether a silence at the very end lasted 10 s.
    """
    sessions = by_session(events)
    if end_ms is None:
        end_ms = max((evs[-1]["ts"] for evs in sessions.values()), default=0)
    rows: list[Row] = []
    line_input: list[SessionEpisode] = []
    members: dict[LineKey, list[str]] = defaultdict(list)
    session_line: dict[str, tuple[LineKey, LineKey]] = {}
    presence: dict[str, list[tuple[int, str]]] = {}
    for sid in sorted(sessions):
        evs = sessions[sid]
        joins = [e for e in evs if e["type"] == "join"]
        if not joins:
            continue
        classroom = joins[0]["classroom_id"]
        session_line[sid] = session_lines(joins[0])
        for key in session_line[sid]:
            members[key].append(sid)
        presence[sid] = [(e["ts"], e["type"]) for e in evs if e["type"] in ("join", "leave")]
        base = {"session_id": sid, "classroom_id": classroom}
        for kind, found in (
            ("lag", lag_episodes(evs, d)),
            ("disconnect", disconnect_episodes(evs, end_ms, d)),
            ("flapping", flapping_episodes(evs, end_ms, d)),
        ):
            for ep in found:
                rows.append({"kind": kind, **base, **ep})
                if kind != "flapping":
                    line_input.append(
                        SessionEpisode(sid, classroom, ep["started_at"], ep["ended_at"])
                    )
    for ep in line_episodes(line_input, members, session_line, presence, d):
        rows.append({"kind": "line", **ep})
    rows.sort(key=lambda r: (r["started_at"], KIND_ORDER[r["kind"]], r.get("session_id", "")))
    return rows


def attribute(rows: list[Row], faults: list[FaultInstance], session_ids: list[str]) -> None:
    """Set each row's `fault`: the injected fault that explains it, else `link`."""
    by_session: dict[str, list[FaultInstance]] = defaultdict(list)
    for f in faults:
        for i in f.sessions:
            by_session[session_ids[i]].append(f)
    for row in rows:
        start = row["started_at"]
        if row["kind"] == "line":
            hit = set(row["sessions"])
            names = [
                f.name
                for f in faults
                if f.line
                and start - 5_000 <= f.end
                and f.start <= start + 70_000
                and hit & {session_ids[i] for i in f.sessions}
            ]
        else:
            names = [
                f.name
                for f in by_session[row["session_id"]]
                if f.start - 20_000 <= start <= f.end + 5_000
            ]
        row["fault"] = (
            names[0] if names else ("link" if row["kind"] in ("lag", "line") else "unknown")
        )
