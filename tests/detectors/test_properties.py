"""Invariants of the detectors over generated messy streams (hypothesis).

Streams are built from segments whose timing keeps clear of the thresholds by
more than the delivery jitter (gaps of <= 4 s or >= 16 s, reconnect sequences
that heal within 4 s or fail for >= 16 s), so the clean stream has one right
answer and the messy one must give the same.
"""

from __future__ import annotations

import random
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detectors.telemetry import Event
from tests.support.factory import T0, Run, disconnect, heartbeat, join, leave, reconnect, stats

SEGMENTS = ("clean", "bad", "blip", "mixed", "silence", "recon_ok", "recon_fail", "disc",
            "heartbeats")


def session_events(sid: str, room: str, segments: list[tuple[str, int]], start: int,
                   leaves: bool) -> tuple[list[Event], int]:
    """One session's clean stream from a list of (segment, length) pairs."""
    ev: list[Event] = [join(sid, start, room=room)]
    t = start

    def tick(bad: bool = False) -> None:
        nonlocal t
        t += 2000
        ev.append(stats(sid, t, bad=bad, room=room))

    for kind, n in segments:
        if kind == "clean":
            for _ in range(n):
                tick()
        elif kind == "bad":
            for _ in range(n + 3):
                tick(bad=True)
        elif kind == "blip":
            tick(bad=True)
            for _ in range(5):
                tick()
        elif kind == "mixed":
            for k in range(n + 5):
                tick(bad=k % 2 == 0)
        elif kind == "silence":
            t += 16_000 + n * 1000
            tick()
        elif kind == "recon_ok":
            ev.append(reconnect(sid, t + 500, room=room))
            ev.append(reconnect(sid, t + 500 + 1000 * (1 + n % 3), attempt=2, ok=True, room=room))
            t += 4000
            tick()
        elif kind == "recon_fail":
            first = t + 500
            for k in range(9 + n % 3):
                ev.append(reconnect(sid, first + 2000 * k, attempt=k + 1, room=room))
            t = first + 2000 * (9 + n % 3)
            tick()
        elif kind == "disc":
            ev.append(disconnect(sid, t + 500, room=room))
            t += 4000 + n * 2000
            tick()
        elif kind == "heartbeats":
            for _ in range(n):
                t += 2000
                ev.append(heartbeat(sid, t, room=room))
        for _ in range(5):  # settle: five clean intervals between segments
            tick()
    if leaves:
        t += 1000
        ev.append(leave(sid, t, room=room))
    return ev, t


segment = st.tuples(st.sampled_from(SEGMENTS), st.integers(min_value=0, max_value=6))
session_plan = st.lists(segment, min_size=1, max_size=6)


@st.composite
def school(draw: st.DrawFn) -> tuple[list[Event], bool]:
    """A few sessions (and a metronome moving time on) in clean time order."""
    n = draw(st.integers(min_value=1, max_value=4))
    leaves = draw(st.booleans())
    events: list[Event] = []
    end = T0
    for i in range(n):
        plan = draw(session_plan)
        ev, t = session_events(f"s{i}", f"c{i % 2}", plan, T0 + i * 700, leaves)
        events += ev
        end = max(end, t)
    metro = [join("metronome", T0, room="cm")] + [
        heartbeat("metronome", ts, room="cm") for ts in range(T0 + 1000, end + 30_000, 1000)]
    events += metro
    events.sort(key=lambda e: e.ts)
    return events, leaves


def messy(events: list[Event], seed: int, jitter_ms: int, dup_rate: float) -> list[Event]:
    """Deliver with random delays up to `jitter_ms` (reordering) and some duplicates."""
    rnd = random.Random(seed)
    keyed = [(e.ts + rnd.randint(0, jitter_ms), k, e) for k, e in enumerate(events)]
    for k, e in enumerate(events):
        if e.session_id != "metronome" and rnd.random() < dup_rate:
            keyed.append((e.ts + rnd.randint(0, jitter_ms), len(events) + k, e))
    keyed.sort(key=lambda x: (x[0], x[1]))
    return [e for _, _, e in keyed]


def incident_keys(run: Run) -> Counter[tuple[object, ...]]:
    """Identity of every record: kind, session, state and start (exact)."""
    return Counter((i.kind, i.session_id, i.state, i.started_at)
                   for i in run.incidents if i.kind != "line")


def end_times(run: Run) -> dict[tuple[object, ...], int | None]:
    return {(i.incident_id, i.state): i.ended_at for i in run.incidents if i.state == "closed"}


PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(school(), st.integers(min_value=0, max_value=2**32), st.integers(0, 3000))
def test_duplicates_and_reordering_within_the_lateness_do_not_change_the_incidents(
    case: tuple[list[Event], bool], seed: int, jitter: int
) -> None:
    events, _ = case
    clean = Run().feed(*events)
    noisy = Run().feed(*messy(events, seed, jitter, dup_rate=0.05))
    assert incident_keys(noisy) == incident_keys(clean)
    # An end is the first connected event to *arrive*: off by at most the jitter.
    a, b = end_times(clean), end_times(noisy)
    assert a.keys() == b.keys()
    assert all(abs((a[k] or 0) - (b[k] or 0)) <= jitter for k in a)


@PROPS
@given(school(), st.integers(min_value=0, max_value=2**32))
def test_decision_times_move_at_most_by_the_lateness(case: tuple[list[Event], bool],
                                                      seed: int) -> None:
    events, _ = case
    clean = {(i.incident_id, i.state): i.detected_at for i in Run().feed(*events).incidents}
    noisy = {(i.incident_id, i.state): i.detected_at
             for i in Run().feed(*messy(events, seed, 3000, 0.05)).incidents}
    assert clean.keys() == noisy.keys()
    assert all(abs(clean[k] - noisy[k]) <= 5000 for k in clean)


@PROPS
@given(school())
def test_every_incident_carries_evidence_and_opens_once(case: tuple[list[Event], bool]) -> None:
    events, _ = case
    run = Run().feed(*events)
    assert all(i.evidence for i in run.incidents)
    opens = Counter(i.incident_id for i in run.incidents if i.state == "open")
    assert all(n == 1 for n in opens.values())
    assert all(i.started_at <= i.detected_at for i in run.incidents)


@PROPS
@given(school())
def test_a_stream_that_ends_healthy_leaves_no_incident_open(case: tuple[list[Event], bool]) -> None:
    events, leaves = case
    if not leaves:
        return
    run = Run().feed(*events, leave("metronome", events[-1].ts + 1, room="cm"))
    opened = {i.incident_id for i in run.incidents if i.state == "open"}
    closed = {i.incident_id for i in run.incidents if i.state == "closed"}
    assert opened == closed
