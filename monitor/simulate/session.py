"""One session's clean event stream, in true time, from its plan."""

from __future__ import annotations

import random
from collections.abc import Callable, Generator, Iterator
from typing import Any

from monitor.simulate.actions import Break, Degrade, Pattern, Quiet, Scripted
from monitor.simulate.link import HEALTHY_RATIO, stats_values
from monitor.simulate.school import Classroom, SessionPlan
from monitor.simulate.traces import normalized

Event = dict[str, Any]
Item = tuple[int, int, int, Event]  # (true ts, session index, sequence, event with true ts)


def capacity(plan: SessionPlan, rng: random.Random, seconds: int) -> list[float]:
    """Normalized capacity per second from the join on: real traces, end to end."""
    traces = normalized(plan.family)
    first = traces[rng.randrange(len(traces))]
    out = list(first[rng.randrange(len(first)) :])
    while len(out) < seconds:
        out.extend(traces[rng.randrange(len(traces))])
    return out


class _Link:
    """Capacity ratio per stats interval, with the faults' overrides."""

    def __init__(self, plan: SessionPlan, rng: random.Random, degrade_link: bool) -> None:
        self.rng = rng
        self.join = plan.join_ms
        self.headroom = plan.headroom
        seconds = (plan.leave_ms - plan.join_ms) // 1000 + 120
        self.cap = capacity(plan, rng, seconds) if degrade_link else [10.0]
        self.windows = sorted(
            (a for a in plan.actions if isinstance(a, Degrade | Quiet)),
            key=lambda a: (a.start, isinstance(a, Quiet)),
        )
        self.patterns = sorted(
            (a for a in plan.actions if isinstance(a, Pattern)), key=lambda a: a.start
        )
        self.pending: list[bool] = []
        self.plain = not (self.windows or self.patterns)

    def plain_ratio(self, t: int, interval_ms: int) -> float:
        """The trace alone decides (no fault on this session)."""
        cap = self.cap
        k = (t - self.join) // 1000
        n = len(cap)
        if interval_ms >= 2000:
            return (cap[(k - 1) % n] + cap[k % n]) * 0.5 * self.headroom
        return cap[k % n] * self.headroom

    def ratio(self, t: int, interval_ms: int) -> float:
        """Capacity / need over the interval ending at `t`."""
        rng = self.rng
        while self.patterns and self.patterns[0].start <= t:
            self.pending.extend(self.patterns.pop(0).degraded)
        if self.pending:
            bad = self.pending.pop(0)
            return rng.uniform(0.15, 0.4) if bad else rng.uniform(1.25, 1.6)
        quiet = False
        for w in self.windows:
            if w.start <= t < w.end:
                if isinstance(w, Quiet):
                    quiet = True
                    continue
                if rng.random() < w.clean_prob:
                    return rng.uniform(1.1, 1.5)
                return rng.uniform(w.ratio_low, w.ratio_high)
        r = self.plain_ratio(t, interval_ms)
        if quiet and r < HEALTHY_RATIO:
            return HEALTHY_RATIO + 0.3 * rng.random()
        return r


def session_events(
    plan: SessionPlan, room: Classroom, seed: int, degrade_link: bool
) -> Iterator[Item]:
    """The session's events in true-time order (a lazy generator)."""
    return _generate(plan, room, seed, degrade_link)


def _generate(plan: SessionPlan, room: Classroom, seed: int, degrade_link: bool) -> Generator[Item]:
    idx = plan.index
    sid, stu, cid = plan.session_id, plan.student_id, plan.classroom_id
    join_extra: Event = {
        "client": {"app_version": plan.app_version, "os": plan.os, "device": plan.device},
        "network": {"conn": plan.conn, "isp": plan.isp, "region": plan.region, "edge": plan.edge},
        "lesson": {"scheduled_start": plan.lesson_start, "scheduled_end": plan.lesson_end},
    }
    seq = 0

    def event(kind: str, ts: int, extra: Event) -> Item:
        nonlocal seq
        seq += 1
        d: Event = {
            "v": 1,
            "type": kind,
            "ts": ts,
            "session_id": sid,
            "student_id": stu,
            "classroom_id": cid,
        }
        d.update(extra)
        return ts, idx, seq, d

    yield event("join", plan.join_ms, join_extra)
    rng = random.Random(f"{seed}:session:{idx}")
    link = _Link(plan, rng, degrade_link)
    iv = plan.interval_ms
    camera_off = room.camera_off
    need, rtt, jit, loss, fps = (
        plan.need_kbps,
        plan.base_rtt,
        plan.base_jitter,
        plan.base_loss,
        plan.max_fps,
    )
    breaks = sorted((a for a in plan.actions if isinstance(a, Break)), key=lambda b: b.start)
    t = plan.join_ms + rng.randint(1000, iv)
    last_tick = plan.join_ms

    plain = link.plain
    rnd = rng.random
    join, cap, ncap, headroom = plan.join_ms, link.cap, len(link.cap), link.headroom
    for brk in [*breaks, None]:
        until = plan.leave_ms if brk is None else brk.start
        while t < until:  # media ticks (inlined: this loop is the generator's hot path)
            if camera_off and any(a <= t < b for a, b in camera_off):
                yield event("heartbeat", t, {})
            else:
                if plain and iv == 2000:
                    k = (t - join) // 1000
                    ratio = (cap[(k - 1) % ncap] + cap[k % ncap]) * 0.5 * headroom
                elif plain:
                    ratio = link.plain_ratio(t, iv)
                else:
                    ratio = link.ratio(t, iv)
                seq += 1
                if ratio >= HEALTHY_RATIO and iv == 2000:
                    # the common case, inlined for speed: same formulas as stats_values()
                    u = rnd()
                    yield (
                        t,
                        idx,
                        seq,
                        {
                            "v": 1,
                            "type": "stats",
                            "ts": t,
                            "session_id": sid,
                            "student_id": stu,
                            "classroom_id": cid,
                            "interval_ms": 2000,
                            "rtt_ms": int(rtt * (8.5 + 3.0 * rnd()) + 0.5) / 10,
                            "jitter_ms": int(jit * (7.0 + 6.0 * rnd()) + 0.5) / 10,
                            "loss_pct": int(loss * 200.0 * rnd() + 0.5) / 100,
                            "recv_kbps": int(need * (9.3 + 1.0 * rnd()) + 0.5) / 10,
                            "fps": int((fps - 3.0 * rnd()) * 10 + 0.5) / 10,
                            "freeze_ms": int(250 * rnd()) if u < 0.03 else 0,
                            "audio_stall_ms": int(150 * rnd()) if u > 0.985 else 0,
                        },
                    )
                else:
                    v = stats_values(rng, ratio, need, rtt, jit, loss, fps, iv)
                    yield (
                        t,
                        idx,
                        seq,
                        {
                            "v": 1,
                            "type": "stats",
                            "ts": t,
                            "session_id": sid,
                            "student_id": stu,
                            "classroom_id": cid,
                            "interval_ms": iv,
                            "rtt_ms": v[0],
                            "jitter_ms": v[1],
                            "loss_pct": v[2],
                            "recv_kbps": v[3],
                            "fps": v[4],
                            "freeze_ms": v[5],
                            "audio_stall_ms": v[6],
                        },
                    )
            last_tick = t
            t += iv
        if brk is None:
            break
        for s in brk.events:
            yield _scripted(event, s, join_extra)
        if brk.resume is None:
            return
        t = brk.resume if brk.gap_after_last_tick is None else last_tick + brk.gap_after_last_tick
    yield event("leave", plan.leave_ms, {})


def _scripted(event: Callable[[str, int, Event], Item], s: Scripted, join_extra: Event) -> Item:
    if s.type == "join":
        return event("join", s.ts, join_extra)
    return event(s.type, s.ts, dict(s.fields))
