"""Running a simulated school day: streaming, or whole with its ground truth."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from monitor.simulate.config import SimConfig
from monitor.simulate.mess import Delivered, deliver
from monitor.simulate.plan import DayPlan, plan_day
from monitor.simulate.session import Item, session_events
from monitor.simulate.truth import attribute, find_episodes


def merge_in_slices(streams: Iterable[Iterator[Item]], slice_ms: int = 10_000) -> Iterator[Item]:
    """Merge time-ordered streams into one, a time slice at a time.

    Same result as `heapq.merge` (items are unique tuples), but each slice is
    gathered and sorted at C speed, which is much faster for thousands of
    streams. A stream is only started (asked for its second item) once its
    first item's slice comes.
    """
    heads: list[tuple[Item, Iterator[Item]]] = []
    for stream in streams:
        first = next(stream, None)
        if first is not None:
            heads.append((first, stream))
    heads.sort(key=lambda head: head[0])
    waiting = 0
    active: list[tuple[Item, Iterator[Item]]] = []
    end = 0
    while active or waiting < len(heads):
        if not active:
            end = max(end, heads[waiting][0][0] + 1)
        while waiting < len(heads) and heads[waiting][0][0] < end:
            active.append(heads[waiting])
            waiting += 1
        batch: list[Item] = []
        still: list[tuple[Item, Iterator[Item]]] = []
        for item, stream in active:
            nxt: Item | None = item
            while nxt is not None and nxt[0] < end:
                batch.append(nxt)
                nxt = next(stream, None)
            if nxt is not None:
                still.append((nxt, stream))
        active = still
        batch.sort()
        yield from batch
        end += slice_ms


def clean_items(day: DayPlan) -> Iterator[Item]:
    """The clean stream of the whole school in true-time order (lazy)."""
    school = day.school
    config = school.config
    streams = [
        session_events(s, school.classrooms[s.classroom], config.seed, config.link_degradation)
        for s in school.sessions
    ]
    return merge_in_slices(streams)


def skews(day: DayPlan) -> list[int]:
    """Clock offset of each session's client (0 when skew is off)."""
    return [s.skew_ms if day.school.config.mess.max_skew_ms else 0 for s in day.school.sessions]


def iter_delivered(config: SimConfig) -> Iterator[Delivered]:
    """`(delivery_ms, line)` in delivery order, generated lazily (for benchmarks and live feeds)."""
    day = plan_day(config)
    return deliver(clean_items(day), skews(day), config.mess, random.Random(f"{config.seed}:mess"))


def iter_lines(config: SimConfig) -> Iterator[bytes]:
    """Encoded events (JSON, no newline) in delivery order, generated lazily."""
    for _, raw in iter_delivered(config):
        yield raw


@dataclass(slots=True)
class SimResult:
    """A whole simulated day: what was delivered, and the ground truth."""

    config: SimConfig
    delivered: list[Delivered]
    truth: list[dict[str, Any]]
    clean: list[dict[str, Any]] = field(repr=False)
    faults: list[dict[str, Any]]
    sessions: list[dict[str, Any]]

    def lines(self) -> Iterator[bytes]:
        """Encoded events (JSON, no newline) in delivery order."""
        for _, raw in self.delivered:
            yield raw

    def __len__(self) -> int:
        return len(self.delivered)


def session_directory(day: DayPlan) -> list[dict[str, Any]]:
    """Who is where: one dict per session (ids, classroom, device, line, clock skew)."""
    return [
        {
            "session_id": s.session_id,
            "student_id": s.student_id,
            "classroom_id": s.classroom_id,
            "device": s.device,
            "line": {"conn": s.conn, "isp": s.isp, "region": s.region, "edge": s.edge},
            "join_ms": s.join_ms,
            "leave_ms": s.leave_ms,
            "skew_ms": sk,
        }
        for s, sk in zip(day.school.sessions, skews(day), strict=True)
    ]


def simulate(config: SimConfig) -> SimResult:
    """Generate a whole day in memory, with ground truth from the clean stream."""
    day = plan_day(config)
    items = list(clean_items(day))
    clean = [ev for _, _, _, ev in items]
    truth = find_episodes(clean, end_ms=items[-1][0] if items else 0)
    ids = [s.session_id for s in day.school.sessions]
    attribute(truth, day.faults, ids)
    delivered = list(
        deliver(iter(items), skews(day), config.mess, random.Random(f"{config.seed}:mess"))
    )
    return SimResult(
        config=config,
        delivered=delivered,
        truth=truth,
        clean=clean,
        faults=[f.to_dict(ids) for f in day.faults],
        sessions=session_directory(day),
    )
