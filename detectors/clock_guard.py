"""Bounds on event time: one client's clock must not set everyone's clock.

A client's `ts` is trusted only within bounds of a time it cannot forge: the
arrival (live: the broker timestamp of its record) with `max_ahead_ms` and
`max_behind_ms` (:func:`arrival_violations`), and, where events are read at their
own speed (replay, a worker with `--clock event`), the reading clock
(:class:`ReadingClock`): the largest event time accepted so far. An event too
far from it is dead-lettered with reason ``ts_out_of_range``; the clock jumps
only when another session's next event agrees (a gap in the recording), so a
single session's timestamps never advance time for the others.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Final

from detectors.config import DetectionConfig
from detectors.findings import Finding
from detectors.telemetry import BadRecord, Event

TS_OUT_OF_RANGE: Final = "ts_out_of_range"
NO_TIME: Final = -(1 << 62)
# How many events ahead a jump looks for another session's opinion.
LOOKAHEAD: Final = 256


def arrival_violations(items: Sequence[Event | BadRecord], arrivals: Sequence[int],
                       config: DetectionConfig, behind: bool = True) -> list[int]:
    """Indices of events out of range of their own arrival (`behind`: check that side too)."""
    ahead = config.max_ahead_ms
    back = config.max_behind_ms if behind else 1 << 62
    out: list[int] = []
    if not items:
        return out
    try:
        skew = list(map(operator.sub, [e.ts for e in items], arrivals))  # type: ignore[union-attr]
    except AttributeError:
        pass  # a bad record among them: one by one
    else:
        if max(skew) <= ahead and min(skew) >= -back:
            return out  # the usual batch: every event within its bounds
    for i in range(len(items)):
        ev = items[i]
        if type(ev) is BadRecord:
            continue
        a = arrivals[i]
        ts = ev.ts  # type: ignore[union-attr]
        if ts > a + ahead or ts < a - back:
            out.append(i)
    return out


def finding_out_of_range(f: Finding, decided_ms: int, arrival_ms: int,
                         config: DetectionConfig) -> bool:
    """A session finding the line correlator must not believe.

    `decided_ms` is the time its worker stamped on it (that worker's clock),
    `arrival_ms` the broker timestamp of its record: the stamp may not be ahead of
    the arrival, nor the finding's own times ahead of the stamp (beyond the lateness).
    """
    ahead = config.max_ahead_ms
    if decided_ms > arrival_ms + ahead:
        return True
    return max(f.ts, f.detected_at) > decided_ms + config.lateness_ms + ahead


def mark_out_of_range(items: list[Event | BadRecord], indices: Sequence[int],
                      raws: Sequence[bytes]) -> None:
    """Replace the events at `indices` by bad records (`ts_out_of_range`, original bytes)."""
    for i in indices:
        ev = items[i]
        if type(ev) is not BadRecord:
            detail = f"ts {ev.ts} too far from the arrival or stream clock"  # type: ignore[union-attr]
            items[i] = BadRecord(TS_OUT_OF_RANGE, detail, raws[i])


class ReadingClock:
    """The event-time clock of a stream read at its own speed, bounded against one session."""

    def __init__(self, config: DetectionConfig) -> None:
        self.ahead = config.max_ahead_ms
        self.behind = config.max_behind_ms
        self.now = NO_TIME  # largest accepted event time (NO_TIME before the first)
        self.last_session = ""  # the session of the last event judged (any batch)
        self.claim: tuple[int, str] = (NO_TIME, "")  # the last jump nobody confirmed yet
        # Of the last admit's refusals, those for want of another voice (the batch ended).
        self.undecided: list[int] = []
        self.rejected = 0

    def admit(self, items: Sequence[Event | BadRecord]) -> list[int]:
        """Indices (ascending) of events out of range; the clock advances over the rest.

        Bad records among `items` are passed over.
        """
        bad: list[int] = []
        self.undecided = []
        now = self.now
        if items:
            try:
                tss = [e.ts for e in items]  # type: ignore[union-attr]
            except AttributeError:
                pass  # a bad record among them: one by one
            else:
                top = max(tss)
                if top <= now + self.ahead and min(tss) >= max(top, now) - self.behind:
                    # The usual batch: nothing ahead of the clock, nothing far behind the
                    # clock or the newest event (so behind no clock the batch reaches).
                    if top > now:
                        self.now = top
                    self.last_session = items[-1].session_id  # type: ignore[union-attr]
                    return bad
        hi = now + self.ahead
        lo = now - self.behind
        last = -1
        for i in range(len(items)):
            ev = items[i]
            if type(ev) is BadRecord:
                continue
            last = i
            ts = ev.ts  # type: ignore[union-attr]
            if ts > hi or ts < lo:
                if self._judge(items, i, now):
                    now = ts
                    hi = now + self.ahead
                    lo = now - self.behind
                else:
                    bad.append(i)
            elif ts > now:
                now = ts
                hi = now + self.ahead
                lo = now - self.behind
        self.now = now
        self.rejected += len(bad)
        if last >= 0:
            self.last_session = items[last].session_id  # type: ignore[union-attr]
        return bad

    def observe(self, now_ms: int) -> None:
        """A trusted clock (the demo's, a wall clock) says it is at least `now_ms`."""
        if now_ms > self.now:
            self.now = now_ms

    def _judge(self, items: Sequence[Event | BadRecord], i: int, now: int) -> bool:
        """Accept event `i`, far from the clock, only when another session agrees."""
        ev = items[i]
        ts: int = ev.ts  # type: ignore[union-attr]
        if now != NO_TIME and ts < now - self.behind:
            return False  # far behind: it never moves the clock, and is not believed
        sid: str = ev.session_id  # type: ignore[union-attr]
        stop = min(len(items), i + 1 + LOOKAHEAD)
        goes_on = False
        against = 0
        for j in range(i + 1, stop):
            other = items[j]
            if type(other) is BadRecord:
                continue
            if other.session_id != sid:  # type: ignore[union-attr]
                # The next events of other sessions vote: there too (a real jump), or not.
                t2: int = other.ts  # type: ignore[union-attr]
                if t2 >= ts - self.ahead and (now != NO_TIME or t2 <= ts + self.behind):
                    return True
                against += 1
                if against == 2:
                    return False
            else:
                goes_on = True
        if against:
            return False
        # Nobody else follows in this batch: believe it when an earlier claim of another
        # session agrees (its event ended a batch), or when its session is alone.
        claim_ts, claim_sid = self.claim
        if claim_sid and claim_sid != sid and abs(ts - claim_ts) <= self.ahead:
            return True
        if now == NO_TIME:
            alone = goes_on  # the first events: a session going on alone in its batch
        else:
            prev = self.last_session
            for j in range(i - 1, -1, -1):
                other = items[j]
                if type(other) is not BadRecord:
                    prev = other.session_id  # type: ignore[union-attr]
                    break
            alone = prev == sid
        if alone:
            return True
        self.claim = (ts, sid)
        self.undecided.append(i)
        return False


__all__ = [
    "LOOKAHEAD",
    "NO_TIME",
    "TS_OUT_OF_RANGE",
    "ReadingClock",
    "arrival_violations",
    "finding_out_of_range",
    "mark_out_of_range",
]
