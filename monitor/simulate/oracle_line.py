"""Reference line-incident finder (oracle), brute force over whole streams."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from monitor.simulate.oracle import DEFAULTS, Definitions, Episode, Ev

LineKey = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class SessionEpisode:
    """A lag or disconnect of one session, as seen by the line check."""

    session_id: str
    classroom_id: str
    started_at: int
    ended_at: int | None


def session_lines(first_join: Ev) -> tuple[LineKey, LineKey]:
    """The edge line and the isp+region line of a session."""
    net = first_join["network"]
    return (("edge", net["edge"]),), (("isp", net["isp"]), ("region", net["region"]))


def is_active(presence: list[tuple[int, str]], t: int) -> bool:
    """Joined and not left at time `t` (presence: the session's join/leave times)."""
    state = False
    for ts, kind in presence:
        if ts > t:
            break
        state = kind == "join"
    return state


def in_episode(episodes: list[SessionEpisode], t: int) -> bool:
    """Some episode of the session covers time `t`."""
    return any(e.started_at <= t and (e.ended_at is None or t < e.ended_at) for e in episodes)


def _qualifying_windows(
    eps: list[SessionEpisode],
    members: list[str],
    presence: dict[str, list[tuple[int, str]]],
    d: Definitions,
) -> list[tuple[int, int, set[str]]]:
    """(decision time, earliest start, sessions) of every qualifying 60 s window."""
    out = []
    for last in eps:
        window = [
            e for e in eps if last.started_at - d.line_window_ms <= e.started_at <= last.started_at
        ]
        sessions = {e.session_id for e in window}
        rooms = {e.classroom_id for e in window}
        active = sum(1 for s in members if is_active(presence[s], last.started_at))
        if (
            len(sessions) >= d.line_sessions
            and len(sessions) >= d.line_share * active
            and len(rooms) >= d.line_classrooms
        ):
            out.append((last.started_at, min(e.started_at for e in window), sessions))
    return out


def _close_time(
    sessions: set[str], by_sid: dict[str, list[SessionEpisode]], since: int, d: Definitions
) -> int | None:
    """First time >= `since` when fewer than `line_sessions` of them are in an episode."""
    candidates = sorted(
        {
            e.ended_at
            for s in sessions
            for e in by_sid[s]
            if e.ended_at is not None and e.ended_at >= since
        }
    )
    for t in [since, *candidates]:
        if sum(1 for s in sessions if in_episode(by_sid[s], t)) < d.line_sessions:
            return t
    return None


def line_episodes(
    episodes: list[SessionEpisode],
    line_members: dict[LineKey, list[str]],
    session_line: dict[str, tuple[LineKey, LineKey]],
    presence: dict[str, list[tuple[int, str]]],
    d: Definitions = DEFAULTS,
) -> list[Episode]:
    """Line incidents on every edge line and isp+region line."""
    per_line: dict[LineKey, list[SessionEpisode]] = defaultdict(list)
    by_sid: dict[str, list[SessionEpisode]] = defaultdict(list)
    for e in episodes:
        by_sid[e.session_id].append(e)
        for key in session_line[e.session_id]:
            per_line[key].append(e)
    out: list[Episode] = []
    for key in sorted(per_line):
        eps = sorted(per_line[key], key=lambda e: (e.started_at, e.session_id))
        current: dict[str, Any] | None = None
        for decided, first, sessions in _qualifying_windows(eps, line_members[key], presence, d):
            if current is not None and (
                current["ended_at"] is None or decided <= current["ended_at"] + d.line_join_ms
            ):
                current["sessions"] |= sessions
                current["ended_at"] = _close_time(current["sessions"], by_sid, decided, d)
                continue
            current = {
                "line": dict(key),
                "started_at": first,
                "detected": decided,
                "sessions": set(sessions),
                "ended_at": _close_time(sessions, by_sid, decided, d),
            }
            out.append(current)
    for ep in out:
        ep["sessions"] = sorted(ep["sessions"])
        ep["classrooms"] = sorted({e.classroom_id for s in ep["sessions"] for e in by_sid[s]})
        del ep["detected"]
    return out
